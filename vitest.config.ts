import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and the example app import the package by its public name, as users do.
    alias: [
      { find: /^passport-argus\/emulator$/, replacement: here('./lib/emulator/index.ts') },
      { find: /^passport-argus\/koa$/, replacement: here('./lib/koa/index.ts') },
      { find: /^passport-argus\/otel$/, replacement: here('./lib/otel/index.ts') },
      { find: /^passport-argus$/, replacement: here('./lib/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
    // The public types as an app sees them, checked by tsc: test/types.test-d.ts.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: 'test/tsconfig.types.json',
    },
    coverage: {
      provider: 'v8',
      include: ['lib/**'],
      // The command's tests run it in a child process, out of the coverage's reach.
      exclude: ['lib/**/*.d.ts', 'lib/emulator/cli.ts'],
      reporter: ['text', 'html'],
      thresholds: { lines: 90 },
    },
  },
});
