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
    // Two files at a time, whatever the core count: vitest's default (cores − 1) is one file at a
    // time on CI's 2 cores, and most files wait on processes they start (replicas, brokers,
    // nginx) rather than compute. Two halve the suite's time; every file makes its own names.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
