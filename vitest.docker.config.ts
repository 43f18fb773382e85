import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// lab/test/docker: the compose file and the Dockerfile run on a Docker engine (docs/docker.md),
// in their own run (npm run test:docker), once per CI run.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['lab/test/docker/**/*.test.ts'], exclude: [], testTimeout: 180_000 },
});
