import { defineConfig } from 'vitest/config';
import unitConfig from './vitest.config.ts';

// Browser journeys in Chromium: `npm run test:e2e`. Kept apart from `npm test`, which
// needs no browser.
export default defineConfig({
  resolve: { alias: unitConfig.resolve?.alias },
  test: {
    include: ['test-e2e/**/*.e2e.test.ts'],
    // Each journey starts a browser; on a small, busy machine that can take seconds.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // One browser at a time: the journeys fake the process's Date, and several Chromiums
    // at once would starve a two-core machine.
    fileParallelism: false,
  },
});
