/**
 * The package as a user gets it: packed by npm (which builds it first), installed from the
 * tarball into a fresh project, and there imported, required, run and type-checked. It
 * packs a copy of the package in a temporary directory, so that dist/ in the working tree
 * is never half-written while other test runs read it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Building the declarations, packing and installing take minutes on a busy machine.
const SETUP_TIMEOUT = 600_000;
const STEP_TIMEOUT = 180_000;

/** What the consumer project installs besides the tarball: the frameworks and their types. */
const CONSUMER_DEPENDENCIES = [
  'express',
  'express-session',
  'passport',
  'koa',
  'koa-passport',
  'koa-session',
  'typescript@~5.9',
  '@types/express',
  '@types/express-session',
  '@types/passport',
  '@types/node@20',
  '@types/koa',
];

/**
 * A Koa app's project: Koa, koa-passport and koa-session with Koa's types only. No
 * `@types/passport` (koa-passport has its own passport), no `@types/express-session`.
 */
const KOA_CONSUMER_DEPENDENCIES = [
  'koa',
  'koa-passport',
  'koa-session',
  'typescript@~5.9',
  '@types/koa',
  '@types/node@20',
];

interface PackedFile {
  path: string;
  mode: number;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit, so tests can show the output. */
function run(command: string, args: string[], cwd: string, timeout = STEP_TIMEOUT) {
  return new Promise<Outcome>((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed, and returns its stdout. */
async function succeed(command: string, args: string[], cwd: string, timeout?: number) {
  const outcome = await run(command, args, cwd, timeout);
  if (outcome.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${outcome.code}\n${outcome.stdout}\n${outcome.stderr}`,
    );
  }
  return outcome.stdout;
}

let work: string;
let consumer: string;
let koaConsumer: string;
let packedFiles: PackedFile[];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'passport-argus-package-'));
  const stage = join(work, 'stage');
  consumer = join(work, 'consumer');
  koaConsumer = join(work, 'koa-consumer');

  // A copy of the package as a clean checkout has it, with its sources and tests and no
  // dist/, so that the tarball shows what the `files` list keeps out and that packing
  // builds first. The tools come from this checkout's node_modules.
  await mkdir(stage);
  for (const entry of await readdir(ROOT, { withFileTypes: true })) {
    if (entry.isFile() || ['lib', 'test', 'example-app'].includes(entry.name)) {
      await cp(join(ROOT, entry.name), join(stage, entry.name), { recursive: true });
    }
  }
  await symlink(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'junction');
  const output = await succeed(
    NPM,
    ['pack', '--json', '--pack-destination', work],
    stage,
    SETUP_TIMEOUT,
  );
  // The build's own output comes first on stdout; npm's JSON answer is the last thing.
  const packed = JSON.parse(output.slice(output.search(/^\[\s*\{/m))) as [
    { filename: string; files: PackedFile[] },
  ];
  packedFiles = packed[0].files;

  const tarball = join(work, packed[0].filename);
  for (const [project, dependencies] of [
    [consumer, CONSUMER_DEPENDENCIES],
    [koaConsumer, KOA_CONSUMER_DEPENDENCIES],
  ] as const) {
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }),
    );
    await succeed(
      NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...dependencies],
      project,
      SETUP_TIMEOUT,
    );
  }
}, SETUP_TIMEOUT * 3);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build (made by packing a checkout with no dist/), the README, the changelog and the licence, and no sources or tests', () => {
    const paths = packedFiles.map((file) => file.path).sort();
    for (const path of paths) {
      expect(path).toMatch(/^(dist\/.+|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/);
    }
    for (const entry of ['index', 'koa/index', 'emulator/index', 'otel/index']) {
      for (const extension of ['.js', '.cjs', '.d.ts', '.d.cts']) {
        expect(paths).toContain(`dist/${entry}${extension}`);
      }
    }
    expect(paths).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']),
    );
    // No source maps: they would point at sources the package does not ship.
    expect(paths.filter((path) => path.endsWith('.map'))).toEqual([]);
  });

  it('points no built file at a source map', async () => {
    for (const { path } of packedFiles.filter((file) => /\.c?js$/.test(file.path))) {
      const code = await readFile(join(consumer, 'node_modules/passport-argus', path), 'utf8');
      expect(code, path).not.toContain('sourceMappingURL');
    }
  });

  it('ships the argus-emulator command executable, with its shebang', async () => {
    const cli = packedFiles.find((file) => file.path === 'dist/emulator/cli.js');
    expect(cli).toBeDefined();
    expect((cli?.mode ?? 0) & 0o111).toBe(0o111);
    const installed = await readFile(
      join(consumer, 'node_modules/passport-argus/dist/emulator/cli.js'),
      'utf8',
    );
    expect(installed.startsWith('#!/usr/bin/env node\n')).toBe(true);
    // It runs the emulator of the `passport-argus/emulator` entry, not a second copy.
    expect(installed).toMatch(/from "\.\/index\.js"/);
    expect(installed).not.toContain('RunningEmulator');
  });
});

/** A script that loads every entry point and starts an emulator through the library. */
function loaderScript(load: (specifier: string) => string): string {
  return `
const main = ${load('passport-argus')};
const koa = ${load('passport-argus/koa')};
const emulator = ${load('passport-argus/emulator')};
const otel = ${load('passport-argus/otel')};
const strategy = new main.ArgusStrategy({
  clientID: 'client', clientSecret: 'secret', callbackURL: 'http://localhost:3000/oauth/callback',
});
const argus = await emulator.startArgusEmulator({ quiet: true });
const page = await fetch(argus.url + '/spa/login');
await argus.close();
// An error made by the Koa entry (a request with no session) is the root entry's ArgusError.
let koaError;
try {
  await koa.requireArgus()({ state: {} }, async () => undefined);
} catch (error) {
  koaError = error;
}
console.log(JSON.stringify({
  main: [typeof main.ArgusStrategy, typeof main.requireArgus, typeof main.argusLogout],
  koa: [typeof koa.requireArgus, typeof koa.argusLogout],
  emulator: typeof emulator.startArgusEmulator,
  otel: typeof otel.otelSpans,
  strategyName: strategy.name,
  loginPage: page.status,
  koaError: [koaError?.code, koaError instanceof main.ArgusError, main.isArgusError(koaError)],
}));
`;
}

const LOADED = {
  main: ['function', 'function', 'function'],
  koa: ['function', 'function'],
  emulator: 'function',
  otel: 'function',
  strategyName: 'argus',
  loginPage: 200,
  koaError: ['ARGUS_SESSION_REQUIRED', true, true],
};

describe('in a project that installed the tarball', { timeout: STEP_TIMEOUT }, () => {
  it('imports every entry point from ESM', async () => {
    await writeFile(
      join(consumer, 'load.mjs'),
      loaderScript((specifier) => `await import('${specifier}')`),
    );
    const output = await succeed(process.execPath, ['load.mjs'], consumer);
    expect(JSON.parse(output)).toEqual(LOADED);
  });

  it('requires every entry point from CommonJS', async () => {
    const body = loaderScript((specifier) => `require('${specifier}')`);
    await writeFile(join(consumer, 'load.cjs'), `(async () => {${body}})();`);
    const output = await succeed(process.execPath, ['load.cjs'], consumer);
    expect(JSON.parse(output)).toEqual(LOADED);
  });

  it('runs argus-emulator from node_modules/.bin, which serves the Argus login page', async () => {
    const child = spawn(join(consumer, 'node_modules/.bin/argus-emulator'), ['--port', '0'], {
      cwd: consumer,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Press Ctrl+C to stop.')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(url).toBeDefined();

    const page = await fetch(`${url}/spa/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Log in to Argus');

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    children.delete(child);
    expect(code).toBe(0);
  });

  describe('type-checks a consumer', () => {
    // One source, read as ESM (.mts), as CommonJS (.cts) and as a node10-resolved CommonJS
    // file. The @ts-expect-error lines prove the types are real: were a name typed `any`,
    // its directive would be unused, and that is an error too.
    const CONSUMER = `
import express from 'express';
import session from 'express-session';
import Koa from 'koa';
import passport from 'passport';
import {
  type ArgusErrorCode,
  type ArgusProfile,
  ArgusStrategy,
  argusLogout,
  isArgusError,
  type RenewOutcome,
  requireArgus,
} from 'passport-argus';
import { type ArgusEmulator, startArgusEmulator } from 'passport-argus/emulator';
import { argusLogout as koaLogout, requireArgus as koaRequireArgus } from 'passport-argus/koa';
import { type OtelApi, otelSpans } from 'passport-argus/otel';

/** Spans for an app that brings its own @opentelemetry/api. */
export function traced(api: OtelApi): () => void {
  return otelSpans(api);
}

export async function main(): Promise<void> {
  const argus: ArgusEmulator = await startArgusEmulator({ tokenLifetime: 60_000 });
  passport.use(
    new ArgusStrategy(
      {
        clientID: 'client',
        clientSecret: 'secret',
        callbackURL: 'http://localhost:3000/oauth/callback',
        portalURL: argus.portalURL,
        apiURL: argus.apiURL,
      },
      async (_tokens, profile: ArgusProfile | undefined) => profile ?? false,
    ),
  );
  // @ts-expect-error clientID is a string
  new ArgusStrategy({ clientID: 42, clientSecret: 'secret', callbackURL: 'http://x/cb' });

  const app = express();
  app.use(session({ secret: 'secret', resave: false, saveUninitialized: false }));
  app.use(passport.session());
  app.use('/app', requireArgus({ refreshWindow: 30_000 }));
  app.post('/logout', argusLogout({ redirectTo: '/' }));
  app.get('/app/me', async (req, res) => {
    const token: string = req.argus.accessToken;
    const expires: Date = req.argus.expiresAt;
    // @ts-expect-error req.argus is typed, not any
    req.argus.noSuchMethod();
    const outcome: RenewOutcome = await req.argus.ensureFresh();
    if (outcome.type === 'unavailable') return void res.status(503).end();
    try {
      const user = await req.argus.json<{ userName: string }>('/currentuser/v1/user');
      res.json({ user: user.userName, expires, tokenLength: token.length });
    } catch (error) {
      const code: ArgusErrorCode | undefined = isArgusError(error) ? error.code : undefined;
      res.status(502).json({ code });
    }
  });

  const koa = new Koa();
  koa.use(koaRequireArgus());
  koa.use(async (ctx) => {
    ctx.body = { expires: ctx.state.argus.expiresAt.toISOString() };
  });
  koa.use(koaLogout());
  await argus.close();
}
`;

    // A Koa app: the strategy from the root entry, the middleware from passport-argus/koa.
    const KOA_CONSUMER = `
import Koa from 'koa';
import {
  type ArgusErrorCode,
  type ArgusProfile,
  ArgusStrategy,
  isArgusError,
  type RenewOutcome,
} from 'passport-argus';
import { argusLogout, requireArgus } from 'passport-argus/koa';

export function app(): Koa {
  new ArgusStrategy(
    { clientID: 'client', clientSecret: 'secret', callbackURL: 'http://localhost:3000/oauth/callback' },
    async (_tokens, profile: ArgusProfile | undefined) => profile ?? false,
  );
  const koa = new Koa();
  koa.use(requireArgus({ refreshWindow: 30_000 }));
  koa.use(async (ctx) => {
    const expires: Date = ctx.state.argus.expiresAt;
    // @ts-expect-error ctx.state.argus is typed, not any
    ctx.state.argus.noSuchMethod();
    const outcome: RenewOutcome = await ctx.state.argus.ensureFresh();
    try {
      ctx.body = await ctx.state.argus.json<{ userName: string }>('/currentuser/v1/user');
    } catch (error) {
      const code: ArgusErrorCode | undefined = isArgusError(error) ? error.code : undefined;
      ctx.body = { code, expires, outcome: outcome.type };
    }
  });
  koa.use(argusLogout({ redirectTo: '/' }));
  return koa;
}
`;

    // skipLibCheck off, so that the package's own declarations are checked too.
    const COMPILER_OPTIONS = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      lib: ['ES2022'],
    };

    /**
     * Type-checks `files` and returns the errors in them and in passport-argus's declarations.
     * Errors inside other packages' declarations are theirs (today @types/koa does not
     * compile against the content-disposition 2 that Express 5 brings), so they are left out.
     */
    async function typeErrors(
      name: string,
      compilerOptions: object,
      files: string[],
      project = consumer,
    ) {
      await writeFile(
        join(project, name),
        JSON.stringify({ compilerOptions: { ...COMPILER_OPTIONS, ...compilerOptions }, files }),
      );
      const outcome = await run(
        process.execPath,
        ['node_modules/typescript/bin/tsc', '-p', name, '--pretty', 'false'],
        project,
      );
      const errors = `${outcome.stdout}${outcome.stderr}`
        .split('\n')
        .filter((line) => /^\S/.test(line))
        .filter((line) => !/^node_modules\/(?!passport-argus\/)/.test(line));
      // tsc also fails for other packages' errors, but never silently.
      if (outcome.code !== 0) expect(`${outcome.stdout}${outcome.stderr}`).not.toBe('');
      return errors;
    }

    it('under module nodenext, from ESM and from CommonJS', async () => {
      await writeFile(join(consumer, 'consumer.mts'), CONSUMER);
      await writeFile(join(consumer, 'consumer.cts'), CONSUMER);
      const errors = await typeErrors('tsconfig.nodenext.json', { module: 'nodenext' }, [
        'consumer.mts',
        'consumer.cts',
      ]);
      expect(errors).toEqual([]);
    });

    it('in a Koa app with neither passport’s nor express-session’s types, from ESM and from CommonJS', async () => {
      // What the project is: without these, the check below would prove nothing.
      for (const types of ['passport', 'express-session', 'koa-passport']) {
        expect(existsSync(join(koaConsumer, 'node_modules/@types', types)), types).toBe(false);
      }
      await writeFile(join(koaConsumer, 'consumer.mts'), KOA_CONSUMER);
      await writeFile(join(koaConsumer, 'consumer.cts'), KOA_CONSUMER);
      const errors = await typeErrors(
        'tsconfig.json',
        { module: 'nodenext' },
        ['consumer.mts', 'consumer.cts'],
        koaConsumer,
      );
      expect(errors).toEqual([]);
    });

    it('under module commonjs with moduleResolution node10', async () => {
      await writeFile(join(consumer, 'consumer-node10.ts'), CONSUMER);
      const errors = await typeErrors(
        'tsconfig.node10.json',
        { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
        ['consumer-node10.ts'],
      );
      expect(errors).toEqual([]);
    });
  });
});
