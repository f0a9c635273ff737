import { defineConfig } from 'vitest/config';

// Unit tests (*.test.ts) need nothing running. Integration tests (*.itest.ts) run against the
// local platform's real servers (`make up`); they run one file at a time because they share them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{intake-core,consumer,loadgen,operator,cdk8s}/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{consumer,loadgen,operator}/src/**/*.itest.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
