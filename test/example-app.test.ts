import { spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ArgusEmulator, DEMO_CLIENT, startArgusEmulator } from 'passport-argus/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import { createExampleApp, type ExampleAppOptions } from '../example-app/app.ts';
import { createKoaExampleApp } from '../example-app/koa-app.ts';
import { Browser, inputValue } from './helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

/** The two example apps: how to build one, its start script and its session cookie. */
const EXAMPLES: [string, (options: ExampleAppOptions) => RequestListener, string, string][] = [
  ['Express', (options) => createExampleApp(options).app, 'example-app/server.ts', 'connect.sid'],
  [
    'Koa',
    (options) => createKoaExampleApp(options).app.callback(),
    'example-app/koa-server.ts',
    'koa.sess',
  ],
];

let server: Server | undefined;
let emulator: ArgusEmulator | undefined;
afterEach(async () => {
  restoreTime();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await emulator?.close();
  server = undefined;
  emulator = undefined;
});

async function startExample(handler: (options: ExampleAppOptions) => RequestListener) {
  server = createServer();
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emulator = await startArgusEmulator({
    quiet: true,
    clients: [{ ...DEMO_CLIENT, redirectUris: [`${url}/oauth/callback`] }],
  });
  server.on(
    'request',
    handler({
      sessionSecret: 'example-test',
      argus: {
        clientID: DEMO_CLIENT.clientID,
        clientSecret: DEMO_CLIENT.clientSecret,
        callbackURL: `${url}/oauth/callback`,
        portalURL: emulator.portalURL,
        apiURL: emulator.apiURL,
      },
    }),
  );
  return { url, emulator };
}

/** Opens `start`, which leads to the Argus login form, and logs `user` in there. */
async function logIn(browser: Browser, start: string, portalURL: string, user: string) {
  const form = await browser.follow(start);
  expect(form.body).toContain('<form');
  return browser.follow(`${portalURL}/spa/login`, {
    form: {
      username: user,
      password: `${user}-password`,
      return: inputValue(form.body, 'return') ?? '',
    },
  });
}

describe.each(EXAMPLES)('the %s example app', (_name, handler, script, cookie) => {
  it('logs in from the home page button and shows who is logged in, the expiry and an API answer', async () => {
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    const home = await browser.request(`${url}/`);
    expect(home.body).toContain('href="/login">Log in with Argus</a>');
    const page = await logIn(browser, `${url}/login`, emulator.portalURL, 'alice');
    expect(page.url).toBe(`${url}/app`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.body).toContain('data-testid="display-name">Alice Anderson<');
    expect(page.body).toContain('data-testid="customer">Demo Customer AS<');
    expect(page.body).toMatch(/data-testid="expires"[^>]*>\s*<time datetime="[^"]+"/);
    expect(page.body).toContain('&quot;userName&quot;: &quot;alice&quot;');
  });

  it('keeps the protected page working across token expiry with one refresh every four minutes', async () => {
    useMovableTime();
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    await logIn(browser, `${url}/app`, emulator.portalURL, 'bob');
    for (let minute = 1; minute <= 12; minute++) {
      advance(60_000);
      const page = await browser.request(`${url}/app`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('Bob Berg');
    }
    // 12 minutes of 300 s tokens refreshed 60 s before expiry: one refresh every 4 minutes.
    expect(
      emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token'),
    ).toHaveLength(3);
  });

  it('sends a failed login back home with a notice', async () => {
    const { url } = await startExample(handler);
    const browser = new Browser();
    await browser.request(`${url}/login`);
    const back = await browser.follow(`${url}/oauth/callback?code=x&state=${'A'.repeat(43)}`);
    expect(back.url).toBe(`${url}/?login=failed`);
    expect(back.body).toContain('The Argus login did not complete');
  });

  it('logs out with the form button: Argus session ended, back home, protected page closed', async () => {
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    await logIn(browser, `${url}/login`, emulator.portalURL, 'alice');
    const home = await browser.follow(`${url}/logout`, { method: 'POST', form: {} });
    expect(home.url).toBe(`${url}/`);
    expect(home.body).toContain('Log in with Argus');
    expect(emulator.requestsTo('session-delete')).toHaveLength(1);
    expect(browser.cookie(url, cookie)).toBeUndefined();
    const again = await browser.request(`${url}/app`);
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toBe('/login');
  });

  it('starts with its npm script and prints the URL and the demo login', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const output = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk) => {
          text += chunk;
          if (text.includes('Demo login')) resolve(text);
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
      });
      const url = /Example app:\s+(\S+)/.exec(output)?.[1] ?? '';
      expect(output).toMatch(/Demo login:\s+alice \/ alice-password/);
      const home = await fetch(`${url}/`);
      expect(await home.text()).toContain('Log in with Argus');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
