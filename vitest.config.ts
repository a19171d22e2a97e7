import { defineConfig } from 'vitest/config';

// Integration tests start real processes in their own network namespaces: run files one
// at a time (2 cores) and give them real time budgets.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
