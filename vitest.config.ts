import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', globalSetup: ['test/build-setup.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One Asterisk, one sipp port range: integration files run one after another.
          fileParallelism: false,
          globalSetup: ['test/build-setup.ts', 'test/integration/global-setup.ts'],
        },
      },
    ],
  },
});
