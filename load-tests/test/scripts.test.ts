import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ENV_DEFAULTS } from '../lib/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPTS = ['smoke.js', 'spike.js', 'sellout.js', 'read-soak.js', 'waiting-room.js'];
const jsIn = (dir: string) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
const LIB = jsIn('lib');
const SUPPORT = jsIn('support');

/** Parses a file as an ES module; returns its syntax errors, imports, and exported names. */
function inspect(file: string) {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const out = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2020, allowJs: true },
  });
  const errors = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2020, true, ts.ScriptKind.JS);
  const imports: string[] = [];
  const exported: string[] = [];
  let dynamicImport = false;
  const visit = (node: ts.Node) => {
    if (
      node.kind === ts.SyntaxKind.CallExpression &&
      (node as ts.CallExpression).expression.kind === ts.SyntaxKind.ImportKeyword
    )
      dynamicImport = true;
    ts.forEachChild(node, visit);
  };
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) || (ts.isExportDeclaration(st) && st.moduleSpecifier))
      imports.push((st.moduleSpecifier as ts.StringLiteral).text);
    const exportedHere =
      ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (exportedHere && ts.isFunctionDeclaration(st) && st.name) exported.push(st.name.text);
    if (exportedHere && ts.isVariableStatement(st))
      for (const d of st.declarationList.declarations) exported.push(d.name.getText(sf));
  }
  visit(sf);
  return { errors, imports, exported, dynamicImport, source };
}

/** True when a relative import lands on a file of load-tests/lib or load-tests/support. */
function isSharedModule(from: string, spec: string) {
  const target = relative(ROOT, resolve(ROOT, dirname(from), spec));
  return /^(lib|support)\/[\w.-]+\.js$/.test(target) && [...LIB, ...SUPPORT].includes(target);
}

describe('the k6 scripts as source', () => {
  it.each([...SCRIPTS, ...SUPPORT])(
    'when %s is parsed, then it is a valid ES module importing only k6 modules and ./lib or ./support files',
    (file) => {
      const { errors, imports, dynamicImport } = inspect(file);
      expect(errors).toEqual([]);
      expect(dynamicImport).toBe(false);
      for (const spec of imports) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^https?:/);
        expect(/^k6(\/[\w/-]+)?$/.test(spec) || isSharedModule(file, spec), `${file} imports ${spec}`).toBe(true);
      }
    },
  );

  it.each(LIB)('when %s is parsed, then it is pure: no k6 or Node imports, only sibling lib files', (file) => {
    const { errors, imports } = inspect(file);
    expect(errors).toEqual([]);
    for (const spec of imports)
      expect(isSharedModule(file, spec) && spec.startsWith('./'), `${file} imports ${spec}`).toBe(true);
  });

  it.each(SCRIPTS)(
    'when %s is read, then it exports options with scenarios whose exec functions it exports, setup and handleSummary',
    (file) => {
      const { exported, source } = inspect(file);
      expect(exported).toEqual(expect.arrayContaining(['options', 'setup', 'handleSummary']));
      const execs = [...source.matchAll(/exec: '(\w+)'/g)].map((m) => m[1]);
      const fromHelper = [...source.matchAll(/rampingArrivals\(\{ exec: '(\w+)'/g)].map((m) => m[1]);
      expect([...execs, ...fromHelper].length).toBeGreaterThan(0);
      for (const name of [...execs, ...fromHelper]) expect(exported).toContain(name);
      expect(source).toMatch(/scenarios: \{/);
    },
  );

  it('when the lib modules are loaded by plain Node, then they import without k6', () => {
    const code = LIB.map((f) => `await import(${JSON.stringify(join(ROOT, f))});`).join('');
    expect(() => execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: 'pipe' })).not.toThrow();
  });

  it('when the README is read, then every environment variable is documented with its default', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [name, value] of Object.entries(ENV_DEFAULTS)) {
      expect(readme, name).toContain(`\`${name}\``);
      if (value) expect(readme, `${name} default`).toContain(`\`${value}\``);
    }
  });
});
