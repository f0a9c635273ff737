import { defineConfig } from 'vitest/config';

// Unit tests (*.test.ts) need nothing running. Integration tests (*.itest.ts) run against the
// local platform's real servers (`make up`); they run one file at a time because they share them.
// End-to-end tests (test/**/*.e2e.ts, `make test-k8s`) run the operator against a real control plane
// (`make k8s-up`) and the local Kafka; they fail, never skip, when either is not reachable.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{intake-core,consumer,loadgen,operator,scaling-sim,testkit,cdk8s}/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{consumer,loadgen,operator,testkit}/src/**/*.itest.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'k8s',
          include: ['{operator,cdk8s}/test/**/*.e2e.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // `make scale-burst` only (never `make test`): consumer pods on kwok nodes, each a real consumer
        // process; needs platform/k8s-testenv/testenv.sh nodes-up besides the control plane and the platform.
        test: {
          name: 'scale-burst',
          include: ['operator/test/**/*.burst.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
