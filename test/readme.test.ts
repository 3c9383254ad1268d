/**
 * The README's quick starts run as pasted: each marked code block is written to a file,
 * type-checked, and run against the `argus-emulator` command with the environment the
 * README's table gives, then a user logs in through the emulator's form over real HTTP.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, inputValue } from './helpers/browser.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = `${root}test/.readme-run`;
const readme = readFileSync(`${root}README.md`, 'utf8');
const children: ChildProcess[] = [];

/** The code block that follows `<!-- readme-test: name -->` in the README. */
function block(name: string): string {
  const marker = readme.indexOf(`<!-- readme-test: ${name} -->`);
  if (marker === -1) throw new Error(`the README has no block marked ${name}`);
  const start = readme.indexOf('```ts\n', marker) + '```ts\n'.length;
  return readme.slice(start, readme.indexOf('\n```', start) + 1);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a Node program through tsx and resolves with the first stdout line matching `ready`. */
function run(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = ready.exec(output);
      if (match) resolve(match[1] ?? match[0]);
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  for (const name of ['express', 'koa']) {
    mkdirSync(`${work}/${name}`, { recursive: true });
    writeFileSync(`${work}/${name}/server.ts`, block(name));
  }
  // Type-checked as an app would: the repository's strict settings, the package by its name.
  writeFileSync(
    `${work}/tsconfig.json`,
    JSON.stringify({ extends: '../../tsconfig.json', include: ['*/server.ts'] }),
  );
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('the README', () => {
  it('has quick starts that type-check as pasted', async () => {
    const tsc = `${root}node_modules/typescript/bin/tsc`;
    const result = await promisify(execFile)(
      process.execPath,
      [tsc, '--noEmit', '-p', `${work}/tsconfig.json`],
      { cwd: root },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
    expect(result.stdout).toBe('');
  }, 60_000);

  it.each(['express', 'koa'])(
    'has a %s quick start that logs a user in against npx argus-emulator',
    async (name) => {
      const port = await freePort();
      const callbackURL = `http://localhost:${port}/oauth/callback`;
      const argusURL = await run(
        ['lib/emulator/cli.ts', '--port', '0', '--redirect-uri', callbackURL],
        {},
        /listening on (http:\/\/127\.0\.0\.1:\d+)/,
      );
      const app = `http://localhost:${port}`;
      // The right-hand column of the README's table, with the ports this test was given.
      await run(
        [`${work}/${name}/server.ts`],
        {
          ARGUS_CLIENT_ID: '5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10',
          ARGUS_CLIENT_SECRET: 'demo-client-secret',
          ARGUS_CALLBACK_URL: callbackURL,
          ARGUS_URL: argusURL,
          SESSION_SECRET: 'a development secret',
          PORT: String(port),
          NODE_ENV: '',
        },
        new RegExp(`http://localhost:${port}`),
      );
      const browser = new Browser();
      const form = await browser.follow(`${app}/login`);
      expect(form.url).toContain('/spa/login');
      const landing = await browser.follow(`${argusURL}/spa/login`, {
        form: {
          username: 'alice',
          password: 'alice-password',
          return: inputValue(form.body, 'return') ?? '',
        },
      });
      expect(landing.url).toBe(`${app}/`);
      expect(landing.body).toContain('Log out');
      const me = await browser.request(`${app}/app/me`, {
        headers: { accept: 'application/json' },
      });
      expect(me.status).toBe(200);
      expect(JSON.parse(me.body)).toMatchObject({ userName: 'alice' });
      const logout = await browser.request(`${app}/logout`, { method: 'POST', form: {} });
      expect(logout.status).toBe(303);
      const after = await browser.request(`${app}/app/me`, {
        headers: { accept: 'application/json' },
      });
      expect(after.status).toBe(401);
    },
    30_000,
  );
});
