/**
 * The dependency rules `npm test` checks (npm run check:deps): no import circles, and
 * dependencies that point one way — core imports no app and no tooling; the apps import
 * neither each other nor the tooling; only the lab spawns processes.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-imports-no-app-or-tooling',
      comment: 'core is the shared library: it must not depend on its consumers or on the lab',
      severity: 'error',
      from: { path: '^core/src/' },
      to: { path: '^(api|worker|lab)/' },
    },
    {
      name: 'api-imports-only-core',
      severity: 'error',
      from: { path: '^api/src/' },
      to: { path: '^(worker|lab)/' },
    },
    {
      name: 'worker-imports-only-core',
      severity: 'error',
      from: { path: '^worker/src/' },
      to: { path: '^(api|lab)/' },
    },
    {
      name: 'only-the-lab-spawns',
      comment: 'processes are started by the lab workspace alone',
      severity: 'error',
      from: { path: '^(core|api|worker)/src/' },
      to: { path: '^node:child_process$|^child_process$' },
    },
    {
      name: 'no-deep-core-imports',
      comment: 'outside core, core is reached through its export map only',
      severity: 'error',
      from: { path: '^(api|worker|lab)/' },
      to: { path: '^core/src/', pathNot: '^core/src/([^/]+\\.ts|[^/]+/index\\.ts)$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/|node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'types', 'default'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
    skipAnalysisNotInRules: false,
  },
};
