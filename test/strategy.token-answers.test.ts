import { afterEach, describe, expect, it } from 'vitest';
import type { FailurePlan } from 'passport-argus/emulator';
import { Browser, inputValue } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

async function callbackFor(browser: Browser): Promise<string> {
  const form = await browser.follow(`${app.url}/login`);
  const posted = await browser.request(`${app.emulator.portalURL}/spa/login`, {
    form: {
      username: 'alice',
      password: 'alice-password',
      return: inputValue(form.body, 'return') ?? '',
    },
  });
  const authorize = await browser.request(
    new URL(posted.headers.get('location') ?? '', posted.url).href,
  );
  return authorize.headers.get('location') ?? '';
}

const json = (body: unknown): FailurePlan => ({
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const good = { access_token: 'alice/abc', token_type: 'Bearer', expires_in: 300 };

const badAnswers: [string, FailurePlan, string][] = [
  [
    '502 with an HTML body',
    { status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' },
    'ARGUS_HTTP',
  ],
  [
    '200 with HTML',
    { status: 200, contentType: 'text/html', body: '<html>hi</html>' },
    'ARGUS_BAD_RESPONSE',
  ],
  [
    '200 with a form-encoded body',
    {
      status: 200,
      contentType: 'application/x-www-form-urlencoded',
      body: 'access_token=alice%2Fx&token_type=bearer',
    },
    'ARGUS_BAD_RESPONSE',
  ],
  [
    'truncated JSON',
    { status: 200, contentType: 'application/json', body: '{"' },
    'ARGUS_BAD_RESPONSE',
  ],
  ['JSON null', json(null), 'ARGUS_BAD_RESPONSE'],
  ['JSON []', json([]), 'ARGUS_BAD_RESPONSE'],
  ['JSON "s"', json('s'), 'ARGUS_BAD_RESPONSE'],
  ['JSON 42', json(42), 'ARGUS_BAD_RESPONSE'],
  ['access_token missing', json({ ...good, access_token: undefined }), 'ARGUS_BAD_RESPONSE'],
  ['access_token ""', json({ ...good, access_token: '' }), 'ARGUS_BAD_RESPONSE'],
  ['access_token a number', json({ ...good, access_token: 42 }), 'ARGUS_BAD_RESPONSE'],
  ['access_token an object', json({ ...good, access_token: { a: 1 } }), 'ARGUS_BAD_RESPONSE'],
  ['token_type missing', json({ ...good, token_type: undefined }), 'ARGUS_BAD_RESPONSE'],
  ['token_type mac', json({ ...good, token_type: 'mac' }), 'ARGUS_BAD_RESPONSE'],
  ['token_type DPoP', json({ ...good, token_type: 'DPoP' }), 'ARGUS_BAD_RESPONSE'],
  ['expires_in negative', json({ ...good, expires_in: -1 }), 'ARGUS_BAD_RESPONSE'],
  ['expires_in "NaN"', json({ ...good, expires_in: 'NaN' }), 'ARGUS_BAD_RESPONSE'],
  [
    'expires_in 1e309',
    {
      status: 200,
      contentType: 'application/json',
      body: '{"access_token":"alice/x","token_type":"Bearer","expires_in":1e309}',
    },
    'ARGUS_BAD_RESPONSE',
  ],
  ['a 302 to another host', { redirect: 'http://evil.example/token' }, 'ARGUS_REDIRECT'],
  ['a 10 MB body', { hugeBody: 10 * 1024 * 1024 }, 'ARGUS_RESPONSE_TOO_LARGE'],
  ['a reset connection', { reset: true }, 'ARGUS_NETWORK'],
];

describe('strict reading of the token answer', () => {
  it.each(badAnswers)('refuses %s with a typed error and no login', async (_name, plan, code) => {
    app = await startTestApp({ callback: { successReturnToOrRedirect: '/' } });
    const browser = new Browser();
    const callback = await callbackFor(browser);
    app.emulator.failNext('token', plan);
    const answer = await browser.request(callback);
    expect(answer.status).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(answer.body)).toEqual({ error: code });
    expect(app.errors[0]).toMatchObject({ code });
    expect((app.errors[0] as Error).message).not.toContain('alice/');
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(0);
    const me = await browser.request(`${app.url}/app/me`, {
      headers: { accept: 'application/json' },
    });
    expect(me.status).toBe(401);
  });

  it('accepts token_type in any case and an absent expires_in (Argus’s 300 s assumed)', async () => {
    // The emulator knows no such token, so the profile is turned off to see the token set.
    app = await startTestApp({ strategy: { profile: false } });
    const browser = new Browser();
    const callback = await callbackFor(browser);
    app.emulator.failNext(
      'token',
      json({ access_token: 'alice/opaque', token_type: 'bEaReR', refresh_token: null }),
    );
    const before = Date.now();
    const landing = await browser.follow(callback);
    expect(landing.status).toBe(200);
    const stored = await app.storedSession(app.sessionId(browser) ?? '');
    const tokens = stored?.argus as { expiresAt: number; refreshToken?: string; tokenType: string };
    expect(tokens.tokenType).toBe('Bearer');
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.expiresAt - before).toBeGreaterThanOrEqual(300_000);
    expect(tokens.expiresAt - Date.now()).toBeLessThanOrEqual(300_000);
  });
});

describe('an expires_in beyond any real token lifetime', () => {
  const YEAR = 365 * 24 * 3600 * 1000;
  const api = { headers: { accept: 'application/json' } };
  const huge = (token: string): FailurePlan =>
    json({ access_token: token, token_type: 'Bearer', expires_in: 1e20, refresh_token: 'r/1' });

  afterEach(() => restoreTime());

  async function expiresAt(browser: Browser): Promise<number> {
    const me = await browser.request(`${app.url}/app/me`, api);
    expect(me.status).toBe(200);
    return Date.parse(JSON.parse(me.body).expiresAt);
  }

  it('is read as one year at the code exchange, so req.argus.expiresAt is a real date', async () => {
    app = await startTestApp({ strategy: { profile: false } });
    const browser = new Browser();
    const callback = await callbackFor(browser);
    app.emulator.failNext('token', huge('alice/long-lived'));
    const before = Date.now();
    expect((await browser.follow(callback)).status).toBe(200);
    const expiry = await expiresAt(browser);
    expect(expiry).toBeGreaterThanOrEqual(before + YEAR);
    expect(expiry).toBeLessThanOrEqual(Date.now() + YEAR);
  });

  it('is read as one year at a refresh, so the session goes on with a real date', async () => {
    useMovableTime();
    app = await startTestApp();
    const { browser } = await app.login();
    advance(400_000);
    app.emulator.failNext('token', huge('alice/refreshed'));
    const expiry = await expiresAt(browser);
    expect(app.emulator.requestsTo('token')).toHaveLength(2);
    expect(expiry).toBe(Date.now() + YEAR);
  });

  it('does not take a tampered stored expiry that no Date can hold for a token set', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    const record = (await app.storedSession(sid)) as Record<string, Record<string, unknown>>;
    record.argus = { ...record.argus, expiresAt: 1e300 };
    await new Promise<void>((resolve, reject) =>
      app.store.set(sid, record as never, (error) => (error ? reject(error) : resolve())),
    );
    const me = await browser.request(`${app.url}/app/me`, api);
    expect(me.status).toBe(401);
    expect(JSON.parse(me.body)).toEqual({ error: 'login_required' });
  });
});
