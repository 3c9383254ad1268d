import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and the example app import the package by its public name, as users do.
    alias: [
      { find: /^passport-argus\/emulator$/, replacement: here('./lib/emulator/index.ts') },
      { find: /^passport-argus\/koa$/, replacement: here('./lib/koa/index.ts') },
      { find: /^passport-argus$/, replacement: here('./lib/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
