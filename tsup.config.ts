import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    'emulator/index': 'lib/emulator/index.ts',
    'emulator/cli': 'lib/emulator/cli.ts',
    'koa/index': 'lib/koa/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
