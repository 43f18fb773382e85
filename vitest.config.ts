import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['{core,api,worker,lab,load-tests,nginx}/test/**/*.test.ts'],
    // the compose file on a Docker engine: its own run (npm run test:docker), once per CI run
    exclude: [...configDefaults.exclude, 'lab/test/docker/**'],
    globalSetup: ['lab/testing/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
