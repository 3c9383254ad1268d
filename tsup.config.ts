import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const common = {
  // No source maps. Their sources are lib/*.ts, which the package does not ship, so a map
  // helps only with the sources inside it, and that more than doubles the package (1.30 MB
  // unpacked against 0.53 MB without maps). The output is not minified: a stack trace into
  // dist/ reads as it is.
  sourcemap: false,
  target: 'node20',
} as const;

/**
 * The command imports the emulator through its public entry, `./index.js` beside it, so
 * that the package holds one copy of the emulator (and of the core under it), not two.
 */
const emulatorEntry: Plugin = {
  name: 'emulator-entry',
  setup(build) {
    build.onResolve({ filter: /^\.\/index\.ts$/ }, (args) =>
      args.importer.endsWith('cli.ts') ? { path: './index.js', external: true } : undefined,
    );
  },
};

export default defineConfig([
  {
    ...common,
    entry: {
      index: 'lib/index.ts',
      'emulator/index': 'lib/emulator/index.ts',
      'koa/index': 'lib/koa/index.ts',
      'otel/index': 'lib/otel/index.ts',
    },
    format: ['esm', 'cjs'],
    // One copy of the core per module format, shared by every entry point: an ArgusError
    // thrown by `passport-argus/koa` is then an instance of the one `passport-argus` exports.
    splitting: true,
    dts: true,
    // Both builds run at once: leave the command's files to the build that writes them.
    clean: ['!emulator/cli.js'],
  },
  {
    ...common,
    // The `argus-emulator` command: ESM only (the package is ESM) and nothing to import.
    entry: { 'emulator/cli': 'lib/emulator/cli.ts' },
    format: ['esm'],
    splitting: false,
    dts: false,
    clean: false,
    esbuildPlugins: [emulatorEntry],
  },
]);
