import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefreshCoordinator } from 'passport-argus';
import type { Browser } from '../helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from '../helpers/time.ts';
import {
  FRAMEWORKS,
  type ScenarioApp,
  type ScenarioOptions,
  type StartScenarioApp,
} from './adapters.ts';
import { record } from '../helpers/events.ts';

let app: ScenarioApp | undefined;
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  await app?.close();
  app = undefined;
});

const api = { headers: { accept: 'application/json' } };

interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  expiresAt: number;
}

describe.each(FRAMEWORKS)('requireArgus keeps the Argus session alive in %s', (_name, start) => {
  async function loggedIn(options: ScenarioOptions = {}): Promise<[ScenarioApp, Browser]> {
    const started = await (start as StartScenarioApp)(options);
    app = started;
    const { browser } = await started.login();
    started.emulator.clearRequests();
    return [started, browser];
  }

  async function storedTokens(on: ScenarioApp, browser: Browser) {
    const record = await on.storedSession(on.sessionId(browser) ?? '');
    return record?.argus as StoredTokens | undefined;
  }

  it('lets a fresh token through with no Argus call and no session write', async () => {
    const [app, browser] = await loggedIn();
    const sid = app.sessionId(browser) ?? '';
    const before = JSON.stringify(await app.storedSession(sid));
    advance(100_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(answer.body).user).toMatchObject({ username: 'alice' });
    expect(app.emulator.requests).toHaveLength(0);
    expect(JSON.stringify(await app.storedSession(sid))).toBe(before);
  });

  it('refreshes inside the refresh window, emits one refresh event and goes on with the new token', async () => {
    const [app, browser] = await loggedIn();
    const old = await storedTokens(app, browser);
    const refreshes = record(app, 'refresh');
    advance(250_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(app.emulator.requestsTo('token')[0]?.form?.grant_type).toEqual(['refresh_token']);
    const now = await storedTokens(app, browser);
    expect(now?.accessToken).not.toBe(old?.accessToken);
    expect(now?.refreshToken).toBe(old?.refreshToken);
    expect(new Date(JSON.parse(answer.body).expiresAt).getTime()).toBe(now?.expiresAt);
    expect(refreshes).toEqual([
      {
        user: expect.objectContaining({ username: 'alice' }),
        expiresAt: new Date(now?.expiresAt ?? 0),
        durationMs: expect.any(Number),
      },
    ]);
    expect(JSON.stringify(refreshes)).not.toContain(now?.accessToken);
  });

  it('shares one refresh call among 50 concurrent requests of one session after expiry', async () => {
    const [app, browser] = await loggedIn();
    advance(400_000);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => browser.request(`${app.url}/app/argus`, api)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.every((a) => JSON.parse(a.body).userName === 'alice')).toBe(true);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('survives rotating refresh tokens with reuse detection under concurrency: nobody is wrongly logged out', async () => {
    const [app, browser] = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
    });
    const first = await storedTokens(app, browser);
    for (let round = 0; round < 3; round++) {
      advance(400_000);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => browser.request(`${app.url}/app/argus`, api)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    }
    expect(app.emulator.requestsTo('token')).toHaveLength(3);
    expect((await storedTokens(app, browser))?.refreshToken).not.toBe(first?.refreshToken);
    expect(app.emulator.activeGrants('alice')).toBe(1);
  });

  it('serves a late request that saved the replaced tokens back from the finished refresh', async () => {
    const [app, browser] = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
    });
    const sid = app.sessionId(browser) ?? '';
    const stale = structuredClone(await app.storedSession(sid));
    advance(400_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    // Another request of this session, which loaded the record before the refresh, saves
    // its old copy back over the new tokens (a lost write).
    await app.overwriteSession(sid, stale ?? {});
    const again = await browser.request(`${app.url}/app/argus`, api);
    expect(again.status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('lets a request that loaded the session before a refresh finished take the new tokens from the store', async () => {
    // A coordinator that records no successors: only the store can tell the late request
    // that its tokens were replaced, as when another instance did the refresh.
    const forgetful: RefreshCoordinator = {
      acquire: async () => ({ release: async () => undefined }),
      recordSuccessor: async () => undefined,
      facts: async () => ({ loggedOut: false }),
      markLoggedOut: async () => undefined,
      claim: async () => true,
      settleClaim: async () => undefined,
      claimOutcome: async () => undefined,
    };
    let arrived = () => {};
    const loaded = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const [app, browser] = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
      strategy: { coordinator: forgetful },
      hold: (path) => {
        if (path !== '/app/me') return undefined;
        arrived();
        return gate;
      },
    });
    advance(400_000);
    const late = browser.request(`${app.url}/app/me`, api);
    await loaded;
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    release();
    const answer = await late;
    expect(answer.status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(new Date(JSON.parse(answer.body).expiresAt).getTime()).toBe(
      (await storedTokens(app, browser))?.expiresAt,
    );
  });

  it('emits one logout event when 20 concurrent requests share a refresh Argus rejects', async () => {
    const [app, browser] = await loggedIn();
    const logouts = record(app, 'logout');
    app.emulator.logoutUser('alice');
    advance(400_000);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => browser.request(`${app.url}/app/me`, api)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(401));
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(logouts.map((l) => l.reason)).toEqual(['rejected']);
  });

  it.each([
    ['400 invalid_grant', 'invalid_grant' as const],
    ['401 in the Argus envelope', 401 as const],
    ['403 in the Argus envelope', 403 as const],
  ])('logs the user out when Argus rejects the refresh with %s', async (_shape, rejection) => {
    const [app, browser] = await loggedIn({ emulator: { rejection } });
    const logouts = record(app, 'logout');
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(400_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(browser.cookie(app.url, app.cookieName)).toBeUndefined();
    expect(logouts).toEqual([
      {
        user: expect.objectContaining({ username: 'alice' }),
        reason: 'rejected',
        argusSession: 'not-called',
        durationMs: expect.any(Number),
      },
    ]);
    const calls = app.emulator.requests.length;
    const after = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(after.body)).toEqual({ error: 'login_required' });
    expect(app.emulator.requests).toHaveLength(calls);
  });

  it('sends a page request to the login after a rejection, in a new session holding only the return path', async () => {
    const [app, browser] = await loggedIn();
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(250_000);
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect(await app.storedSession(sid)).toBeUndefined();
    const fresh = app.sessionId(browser);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(sid);
    const stored = await app.storedSession(fresh ?? '');
    expect(stored?.returnTo).toBe('/app/page');
    expect(stored?.argus).toBeUndefined();
    expect((stored?.passport as { user?: unknown } | undefined)?.user).toBeUndefined();
  });

  it.each([
    ['a 503', { status: 503, body: '{}' }],
    ['a timeout', { hang: true }],
    ['a reset connection', { reset: true }],
  ])('keeps the session through %s while the old token is valid', async (_how, plan) => {
    const [app, browser] = await loggedIn({ strategy: { timeout: 300 } });
    const failures = record(app, 'refresh-failed');
    advance(250_000);
    app.emulator.failNext('token', plan);
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(200);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.tokenStillValid).toBe(true);
    expect(await storedTokens(app, browser)).toBeDefined();
  });

  it.each([
    ['a 503', { status: 503, body: '{}' }],
    ['a timeout', { hang: true }],
    ['a reset connection', { reset: true }],
  ])(
    'answers 503 with Retry-After through %s once the token expired, and recovers',
    async (_how, plan) => {
      const [app, browser] = await loggedIn({ strategy: { timeout: 300 } });
      const failures = record(app, 'refresh-failed');
      advance(400_000);
      app.emulator.failNext('token', plan);
      const down = await browser.request(`${app.url}/app/me`, api);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(down.body)).toEqual({ error: 'argus_unavailable' });
      expect(failures.map((f) => f.tokenStillValid)).toEqual([false]);
      expect(await storedTokens(app, browser)).toBeDefined();
      const page = await browser.request(`${app.url}/app/page`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('protected page of alice');
      expect(app.emulator.requestsTo('token')).toHaveLength(2);
    },
  );

  it('shows a 503 page to a browser while Argus is down and the token expired', async () => {
    const [app, browser] = await loggedIn();
    advance(400_000);
    app.emulator.failNext('token', { status: 502, body: '<html>proxy error</html>' });
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('Argus is unavailable');
    expect(page.body).not.toContain('proxy error');
  });

  it('logs out a session not refreshed within refreshTimeout, without calling Argus', async () => {
    const [app, browser] = await loggedIn({ guard: { refreshTimeout: 120_000 } });
    const logouts = record(app, 'logout');
    const sid = app.sessionId(browser) ?? '';
    advance(130_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(app.emulator.requests).toHaveLength(0);
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(logouts.map((l) => l.reason)).toEqual(['refresh_timeout']);
  });

  it('refreshes once and retries once when Argus answers 401 to a token it thinks expired', async () => {
    const [app, browser] = await loggedIn();
    // Only Argus's clock moves: the app still believes its token is fresh.
    app.emulator.clock.advance(310_000);
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).userName).toBe('alice');
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(2);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('forwards the user’s IP to Argus on calls made on their behalf', async () => {
    const [app, browser] = await loggedIn();
    await browser.request(`${app.url}/app/argus`, api);
    expect(app.emulator.requestsTo('currentuser')[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });
});
