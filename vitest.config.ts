import { defineConfig } from 'vitest/config';

/** Host media tests against a real browser: timing-sensitive, so never beside other files on 2 cores. */
const MEDIA_TESTS = ['tests/host/encoded-pipeline.test.ts', 'tests/host/shaped-link.test.ts', 'tests/host/session.test.ts', 'tests/host/stream-quality.test.ts', 'tests/host/agent.test.ts', 'tests/host/cli.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
          exclude: ['tests/e2e/**', 'node_modules/**', ...MEDIA_TESTS],
          environment: 'node',
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'media',
          include: MEDIA_TESTS,
          environment: 'node',
          // Real Chromium decoding a live stream, and Chromium's own bandwidth
          // estimate: both read CPU starvation as network trouble, so these
          // run one file at a time, after the unit tests.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          // One Xvfb, one broker, one host and one browser per file: running files
          // in parallel on a 2-core machine only makes them flaky.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
