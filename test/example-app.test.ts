import { spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ArgusEmulator, DEMO_CLIENT, startArgusEmulator } from 'passport-argus/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createExampleApp,
  EMULATOR_PORTAL_LOGOUT_PATH,
  type ExampleAppOptions,
} from '../example-app/app.ts';
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

/**
 * Serves an example app against a fresh emulator with the options `npm start` gives it;
 * `portalLogoutPath: null` leaves that option out, as against a real Argus.
 */
async function startExample(
  handler: (options: ExampleAppOptions) => RequestListener,
  portalLogoutPath: string | null = EMULATOR_PORTAL_LOGOUT_PATH,
) {
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
      ...(portalLogoutPath === null ? {} : { portalLogoutPath }),
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

  it('logs out with the form button: Argus session ended, logged-out page, protected page closed', async () => {
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    await logIn(browser, `${url}/login`, emulator.portalURL, 'alice');
    const page = await browser.follow(`${url}/logout`, { method: 'POST', form: {} });
    expect(page.url).toBe(`${url}/logged-out`);
    expect(page.body).toContain('<h1>You are logged out</h1>');
    expect(page.body).toContain('You are logged out of this app.');
    expect(page.body).toContain(
      'Your Argus session has ended too (the app asked Argus to end it), but your browser is still logged in to the Argus portal, so the next login may not ask for your password.',
    );
    expect(page.body).toContain(
      `href="${emulator.portalURL}/spa/logout">Also log out of Argus</a>`,
    );
    expect(page.body).toContain('href="/login">Log in again</a>');
    expect(page.body).not.toContain('Alice Anderson');
    expect(emulator.requestsTo('session-delete')).toHaveLength(1);
    expect(browser.cookie(url, cookie)).toBeUndefined();
    const again = await browser.request(`${url}/app`);
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toBe('/login');
  });

  it('logs in again without the Argus form until "Also log out of Argus" ends the portal login', async () => {
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    await logIn(browser, `${url}/login`, emulator.portalURL, 'alice');
    await browser.follow(`${url}/logout`, { method: 'POST', form: {} });
    // The emulator's portal cookie still logs the browser in.
    const back = await browser.follow(`${url}/login`);
    expect(back.url).toBe(`${url}/app`);
    expect(back.body).toContain('data-testid="display-name">Alice Anderson<');

    const page = await browser.follow(`${url}/logout`, { method: 'POST', form: {} });
    const href = /href="([^"]+)">Also log out of Argus</.exec(page.body)?.[1] ?? '';
    const portal = await browser.follow(href);
    expect(portal.body).toContain('You are logged out of Argus');
    const form = await browser.follow(`${url}/login`);
    expect(form.url.startsWith(`${emulator.portalURL}/spa/login`)).toBe(true);
    expect(form.body).toContain('name="username"');
  });

  it('without a portal logout path, "Also log out of Argus" opens the portal home and says so', async () => {
    const { url, emulator } = await startExample(handler, null);
    const page = await new Browser().request(`${url}/logged-out`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`href="${emulator.portalURL}/">Also log out of Argus</a>`);
    expect(page.body).toContain('This opens the Argus portal: log out there.');
  });

  it('sends a logged-in user who opens the logged-out page home instead', async () => {
    const { url, emulator } = await startExample(handler);
    const browser = new Browser();
    await logIn(browser, `${url}/login`, emulator.portalURL, 'alice');
    const page = await browser.follow(`${url}/logged-out`);
    expect(page.url).toBe(`${url}/`);
    expect(page.body).toContain('You are logged in as <strong>Alice Anderson</strong>');
  });

  it("starts with its npm script, prints the URL and the demo login, and links the emulator's portal logout", async () => {
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
      // On its emulator, "Also log out of Argus" ends the emulator's portal login.
      const argus = /Argus emulator:\s+(\S+)/.exec(output)?.[1] ?? '';
      const loggedOut = await fetch(`${url}/logged-out`);
      expect(await loggedOut.text()).toContain(
        `href="${argus}/spa/logout">Also log out of Argus</a>`,
      );
    } finally {
      child.kill('SIGTERM');
    }
  });
});
