import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../lib/emulator/cli.ts', import.meta.url));
const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts the CLI through tsx, as `npx tsx lib/emulator/cli.ts` would. */
function startCLI(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Collects stdout until `pattern` matches, and returns everything read so far. */
function readUntil(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (pattern.test(output)) {
        child.stdout.off('data', onData);
        resolve(output);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`exited with ${code} before ${pattern}: ${output}`)),
    );
  });
}

async function finish(child: ChildProcessWithoutNullStreams) {
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

describe('argus-emulator command', () => {
  it('starts, prints its URL, the demo client and users, serves, and stops on SIGTERM', async () => {
    const child = startCLI(['--port', '0']);
    const output = await readUntil(child, /Press Ctrl\+C to stop\./);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(url).toBeDefined();
    expect(output).toContain('5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10');
    expect(output).toContain('demo-client-secret');
    expect(output).toContain('http://localhost:3000/oauth/callback');
    expect(output).toContain('alice / alice-password');
    expect(output).toContain('bob / bob-password');

    const res = await fetch(`${url}/spa/login`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Log in to Argus');

    child.kill('SIGTERM');
    expect(await finish(child)).toEqual({ code: 0, signal: null });
  });

  it('registers a client from the command line and keeps its secret out of the output', async () => {
    const child = startCLI([
      '--client-id',
      'my-app',
      '--client-secret',
      'sup3r-secret',
      '--redirect-uri',
      'http://localhost:8080/cb',
      '--redirect-uri',
      'http://localhost:8080/cb2',
      '--control-api',
      '--token-lifetime',
      '1000',
    ]);
    const output = await readUntil(child, /Press Ctrl\+C to stop\./);
    expect(output).toContain('Client my-app');
    expect(output).toContain('http://localhost:8080/cb http://localhost:8080/cb2');
    expect(output).not.toContain('sup3r-secret');
    expect(output).not.toContain('5b3c2f0e');
    const url = /listening on (\S+)/.exec(output)?.[1] ?? '';
    const controls = await fetch(`${url}/__emulator/requests`);
    expect(controls.status).toBe(200);
    child.kill('SIGINT');
    expect((await finish(child)).code).toBe(0);
  });

  it('adds your redirect URI to the demo client and logs in your own users', async () => {
    const child = startCLI([
      '--port',
      '0',
      '--redirect-uri',
      'http://localhost:8080/auth/callback',
      '--user',
      'carol:carol-s3cret:Carol Chen',
    ]);
    const output = await readUntil(child, /Press Ctrl\+C to stop\./);
    expect(output).toContain('Client 5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10');
    expect(output).toContain(
      'http://localhost:3000/oauth/callback http://127.0.0.1:3000/oauth/callback http://localhost:8080/auth/callback',
    );
    expect(output).toContain('carol / (as given)  (Carol Chen)');
    expect(output).not.toContain('carol-s3cret');
    expect(output).not.toContain('alice');
    const url = /listening on (\S+)/.exec(output)?.[1] ?? '';
    const login = await fetch(`${url}/spa/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'carol', password: 'carol-s3cret' }),
    });
    expect(login.status).toBe(302);
    const authorize = await fetch(
      `${url}/spa/oauth/authorize?${new URLSearchParams({
        client_id: '5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10',
        redirect_uri: 'http://localhost:8080/auth/callback',
        response_type: 'code',
      })}`,
      {
        redirect: 'manual',
        headers: { cookie: login.headers.get('set-cookie')?.split(';')[0] ?? '' },
      },
    );
    expect(authorize.headers.get('location')).toMatch(
      /^http:\/\/localhost:8080\/auth\/callback\?code=/,
    );
    child.kill('SIGTERM');
    expect((await finish(child)).code).toBe(0);
  });

  it('refuses a --user without a password', async () => {
    const child = startCLI(['--user', 'carol']);
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    expect((await finish(child)).code).toBe(2);
    expect(errors).toContain('--user must be NAME:PASSWORD[:DISPLAY NAME]');
  });

  it('asks for the control token from the environment, and never prints it', async () => {
    const token = 'env-control-token-42';
    const child = startCLI(['--control-api', '--control-host', 'argus.test'], {
      ARGUS_EMULATOR_CONTROL_TOKEN: token,
    });
    const output = await readUntil(child, /Press Ctrl\+C to stop\./);
    expect(output).toContain('(with the control token)');
    expect(output).not.toContain(token);
    const url = /listening on (\S+)/.exec(output)?.[1] ?? '';
    expect((await fetch(`${url}/__emulator/requests`)).status).toBe(403);
    const allowed = await fetch(`${url}/__emulator/requests`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(allowed.status).toBe(200);
    child.kill('SIGTERM');
    expect((await finish(child)).code).toBe(0);
  });

  it('refuses control flags without --control-api', async () => {
    const child = startCLI(['--control-token', 'x']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    expect((await finish(child)).code).toBe(2);
    expect(stderr).toContain('--control-host and --control-token need --control-api');
  });

  it('prints help', async () => {
    const child = startCLI(['--help']);
    const output = await readUntil(child, /ARGUS_EMULATOR_CONTROL_HOSTS/);
    expect(output).toContain('Usage: argus-emulator');
    expect(output).toContain('--control-token T');
    expect(output).toContain('--control-host H');
    expect((await finish(child)).code).toBe(0);
  });

  it('refuses an unknown flag with usage and exit code 2', async () => {
    const child = startCLI(['--prot', '3000']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    expect((await finish(child)).code).toBe(2);
    expect(stderr).toContain("Unknown option '--prot'");
    expect(stderr).toContain('Usage: argus-emulator');
  });

  it('refuses a client id without a secret and redirect URI', async () => {
    const child = startCLI(['--client-id', 'x']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    expect((await finish(child)).code).toBe(2);
    expect(stderr).toContain('go together');
  });
});
