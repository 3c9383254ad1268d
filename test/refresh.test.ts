import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArgusEvents } from 'passport-argus';
import type { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  await app?.close();
});

const api = { headers: { accept: 'application/json' } };

async function loggedIn(options: Parameters<typeof startTestApp>[0] = {}) {
  app = await startTestApp(options);
  const { browser } = await app.login();
  app.emulator.clearRequests();
  return browser;
}

async function storedTokens(browser: Browser) {
  const record = await app.storedSession(app.sessionId(browser) ?? '');
  return record?.argus as
    | { accessToken: string; refreshToken?: string; expiresAt: number }
    | undefined;
}

function record<K extends keyof ArgusEvents>(name: K): ArgusEvents[K][0][] {
  const seen: ArgusEvents[K][0][] = [];
  app.strategy.events.on(name, ((event: ArgusEvents[K][0]) => seen.push(event)) as never);
  return seen;
}

describe('requireArgus keeps the Argus session alive', () => {
  it('lets a fresh token through with no Argus call and no session write', async () => {
    const browser = await loggedIn();
    const before = JSON.stringify(await app.storedSession(app.sessionId(browser) ?? ''));
    advance(100_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(app.emulator.requests).toHaveLength(0);
    expect(JSON.stringify(await app.storedSession(app.sessionId(browser) ?? ''))).toBe(before);
  });

  it('refreshes inside the refresh window and goes on with the new token', async () => {
    const browser = await loggedIn();
    const old = await storedTokens(browser);
    const refreshes = record('refresh');
    advance(250_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(app.emulator.requestsTo('token')[0]?.form?.grant_type).toEqual(['refresh_token']);
    const now = await storedTokens(browser);
    expect(now?.accessToken).not.toBe(old?.accessToken);
    expect(now?.refreshToken).toBe(old?.refreshToken);
    expect(new Date(JSON.parse(answer.body).expiresAt).getTime()).toBe(now?.expiresAt);
    expect(refreshes).toHaveLength(1);
    expect(JSON.stringify(refreshes)).not.toContain(now?.accessToken);
  });

  it('shares one refresh call among 50 concurrent requests of one session', async () => {
    const browser = await loggedIn();
    advance(400_000);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => browser.request(`${app.url}/app/argus`, api)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.every((a) => JSON.parse(a.body).userName === 'alice')).toBe(true);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(app.strategy.engine.inFlight).toBe(0);
  });

  it('survives rotation with reuse detection under concurrency: nobody is wrongly logged out', async () => {
    const browser = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
    });
    const first = await storedTokens(browser);
    for (let round = 0; round < 3; round++) {
      advance(400_000);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => browser.request(`${app.url}/app/argus`, api)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    }
    expect(app.emulator.requestsTo('token')).toHaveLength(3);
    const last = await storedTokens(browser);
    expect(last?.refreshToken).not.toBe(first?.refreshToken);
    expect(app.emulator.activeGrants('alice')).toBe(1);
  });

  it('serves a late request that still holds the replaced token from the finished refresh', async () => {
    const browser = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
    });
    const sid = app.sessionId(browser) ?? '';
    const stale = structuredClone(await app.storedSession(sid));
    advance(400_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    // Another request of this session, which loaded the record before the refresh, saves
    // its old copy back over the new tokens (a lost write).
    await new Promise<void>((resolve) => app.store.set(sid, stale as never, () => resolve()));
    const again = await browser.request(`${app.url}/app/argus`, api);
    expect(again.status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it.each([
    ['400 invalid_grant', 'invalid_grant' as const],
    ['401 in the Argus envelope', 401 as const],
    ['403 in the Argus envelope', 403 as const],
  ])('logs the user out when Argus rejects the refresh with %s', async (_name, rejection) => {
    const browser = await loggedIn({ emulator: { rejection } });
    const logouts = record('logout');
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(400_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(browser.cookie(app.url, 'connect.sid')).toBeUndefined();
    expect(logouts).toEqual([
      { user: expect.objectContaining({ username: 'alice' }), reason: 'rejected' },
    ]);
    const calls = app.emulator.requests.length;
    const after = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(after.body)).toEqual({ error: 'login_required' });
    expect(app.emulator.requests).toHaveLength(calls);
  });

  it('logs the user out at the next refresh after they log out of the Argus portal', async () => {
    const browser = await loggedIn();
    await browser.request(`${app.emulator.portalURL}/spa/logout`, { method: 'POST' });
    advance(250_000);
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    const again = await browser.follow(`${app.url}/app/page`);
    expect(again.url).toContain('/spa/login');
  });

  it.each([
    ['a 503', { status: 503, body: '{}' }],
    ['a timeout', { hang: true }],
    ['a reset connection', { reset: true }],
  ])('keeps the session through %s while the old token is valid', async (_name, plan) => {
    const browser = await loggedIn({ strategy: { timeout: 300 } });
    const failures = record('refresh-failed');
    advance(250_000);
    app.emulator.failNext('token', plan);
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(200);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.tokenStillValid).toBe(true);
    expect(await storedTokens(browser)).toBeDefined();
  });

  it.each([
    ['a 503', { status: 503, body: '{}' }],
    ['a timeout', { hang: true }],
    ['a reset connection', { reset: true }],
  ])(
    'answers 503 with Retry-After through %s once the token expired, and recovers',
    async (_name, plan) => {
      const browser = await loggedIn({ strategy: { timeout: 300 } });
      advance(400_000);
      app.emulator.failNext('token', plan);
      const down = await browser.request(`${app.url}/app/me`, api);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(down.body)).toEqual({ error: 'argus_unavailable' });
      expect(await storedTokens(browser)).toBeDefined();
      const page = await browser.request(`${app.url}/app/page`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('protected page of alice');
      expect(app.emulator.requestsTo('token')).toHaveLength(2);
    },
  );

  it('shows a 503 page to a browser while Argus is down and the token expired', async () => {
    const browser = await loggedIn();
    advance(400_000);
    app.emulator.failNext('token', { status: 502, body: '<html>proxy error</html>' });
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body).toContain('Argus is unavailable');
    expect(page.body).not.toContain('proxy error');
  });

  it('logs out a session not refreshed within refreshTimeout, without calling Argus', async () => {
    const browser = await loggedIn({ guard: { refreshTimeout: 120_000 } });
    const logouts = record('logout');
    advance(130_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(app.emulator.requests).toHaveLength(0);
    expect(logouts[0]?.reason).toBe('refresh_timeout');
  });

  it('logs out an expired session that has no refresh token', async () => {
    const browser = await loggedIn({ emulator: { issueRefreshTokens: false } });
    advance(200_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    advance(200_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});
