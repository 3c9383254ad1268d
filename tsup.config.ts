import { defineConfig } from 'tsup';

const common = {
  sourcemap: true,
  target: 'node20',
  splitting: false,
} as const;

export default defineConfig([
  {
    ...common,
    entry: {
      index: 'lib/index.ts',
      'emulator/index': 'lib/emulator/index.ts',
      'koa/index': 'lib/koa/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    // Both builds run at once: leave the command's files to the build that writes them.
    clean: ['!emulator/cli.js', '!emulator/cli.js.map'],
  },
  {
    ...common,
    // The `argus-emulator` command: ESM only (the package is ESM) and nothing to import.
    entry: { 'emulator/cli': 'lib/emulator/cli.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
  },
]);
