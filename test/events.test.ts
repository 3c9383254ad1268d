/**
 * The events and `strategy.stats()` as an operator's metrics see them: how long logins,
 * refreshes and logouts took, why a login callback logged no one in, what became of the
 * Argus session at a logout, and what the strategy holds in this process.
 */
import session from 'express-session';
import { type ArgusEvents, LocalRefreshCoordinator } from 'passport-argus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './helpers/app.ts';
import { Browser } from './helpers/browser.ts';
import { callbackFor, startLogin } from './helpers/hostile.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';
import { captureWarnings, releaseWarnings } from './helpers/warnings.ts';

let app: TestApp;
beforeEach(() => useMovableTime());
afterEach(async () => {
  releaseWarnings();
  restoreTime();
  await app?.close();
});

const json = { headers: { accept: 'application/json' } };

type Seen = { [K in keyof ArgusEvents]: [K, ArgusEvents[K][0]] }[keyof ArgusEvents];

/** Starts the app and records every event, in order. */
async function start(options: TestAppOptions = {}): Promise<Seen[]> {
  app = await startTestApp(options);
  const seen: Seen[] = [];
  for (const name of ['login', 'login-failed', 'refresh', 'refresh-failed', 'logout'] as const) {
    const record = (payload: unknown) => void seen.push([name, payload] as Seen);
    app.strategy.events.on(name, record);
  }
  return seen;
}

describe('events carry durations', () => {
  it('login: the whole callback, including the time Argus took to answer the exchange', async () => {
    const seen = await start();
    app.emulator.failNext('token', { delay: 120 });
    await app.login();
    expect(seen).toEqual([
      [
        'login',
        { user: expect.objectContaining({ username: 'alice' }), durationMs: expect.any(Number) },
      ],
    ]);
    expect(seen[0]?.[1]).toHaveProperty(
      'durationMs',
      expect.toSatisfy((ms: number) => ms >= 120),
    );
  });

  it('refresh and refresh-failed: what the refreshing request waited', async () => {
    const seen = await start();
    const { browser } = await app.login();
    seen.length = 0;
    advance(250_000);
    app.emulator.failNext('token', { delay: 80 });
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(200);
    advance(250_000);
    app.emulator.failNext('token', { status: 503 });
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(200);

    expect(seen.map(([name]) => name)).toEqual(['refresh', 'refresh-failed']);
    expect(seen[0]?.[1]).toEqual({
      user: expect.objectContaining({ username: 'alice' }),
      expiresAt: expect.any(Date),
      durationMs: expect.toSatisfy((ms: number) => ms >= 80),
    });
    expect(seen[1]?.[1]).toMatchObject({
      tokenStillValid: true,
      error: expect.objectContaining({ code: 'ARGUS_HTTP' }),
      durationMs: expect.any(Number),
    });
  });

  it('logout: what became of the Argus session, by the user or because Argus said no', async () => {
    const seen = await start();
    const leaving = await app.login();
    const down = await app.login(new Browser(), 'bob');
    await leaving.browser.request(`${app.url}/logout`, { method: 'POST' });
    app.emulator.failNext('session-delete', { status: 503 });
    await down.browser.request(`${app.url}/logout`, { method: 'POST' });
    const rejected = await app.login(new Browser(), 'alice');
    app.emulator.logoutUser('alice');
    advance(250_000);
    expect((await rejected.browser.request(`${app.url}/app/me`, json)).status).toBe(401);

    const logouts = seen.flatMap(([name, payload]) => (name === 'logout' ? [payload] : []));
    expect(
      logouts.map((payload) => [
        (payload.user as { username: string }).username,
        payload.reason,
        payload.argusSession,
      ]),
    ).toEqual([
      ['alice', 'user', 'ended'],
      ['bob', 'user', 'failed'],
      ['alice', 'rejected', 'not-called'],
    ]);
    for (const payload of logouts) expect(payload.durationMs).toEqual(expect.any(Number));
  });
});

describe('login-failed says why a callback logged no one in', () => {
  /** Runs one failing callback and returns the login-failed events it caused. */
  async function failing(
    options: TestAppOptions,
    callback: (browser: Browser) => Promise<string>,
  ): Promise<unknown[]> {
    const seen = await start(options);
    // The lost cookie's warning, caused on purpose: recorded, not printed.
    captureWarnings();
    const browser = new Browser();
    await browser.request(await callback(browser));
    expect(seen.map(([name]) => name)).toEqual(['login-failed']);
    const [, payload] = seen[0] as ['login-failed', ArgusEvents['login-failed'][0]];
    expect(payload.durationMs).toEqual(expect.any(Number));
    const code = (payload.error as { code?: string } | undefined)?.code;
    return [payload.reason, code];
  }

  it.each<[string, TestAppOptions, (browser: Browser) => Promise<string>, unknown[]]>([
    [
      'a state this browser never started',
      {},
      async (browser) => {
        await startLogin(app, browser);
        return `${app.callbackURL}?state=${'x'.repeat(43)}&code=abc`;
      },
      ['callback-refused', undefined],
    ],
    [
      'a callback without the session cookie',
      {},
      async () => {
        const other = new Browser();
        return (await callbackFor(app, other)).href;
      },
      ['cookie-lost', undefined],
    ],
    [
      'Argus sending the user back with access_denied',
      {},
      async (browser) => {
        const state = await startLogin(app, browser);
        return `${app.callbackURL}?state=${state}&error=access_denied`;
      },
      ['argus-refused', undefined],
    ],
    [
      'a code Argus rejects',
      {},
      async (browser) => {
        const callback = await callbackFor(app, browser);
        app.emulator.failNext('token', {
          status: 400,
          contentType: 'application/json',
          body: '{"error":"invalid_grant"}',
        });
        return callback.href;
      },
      ['exchange-failed', 'ARGUS_REJECTED'],
    ],
    [
      'a token endpoint that is down',
      {},
      async (browser) => {
        const callback = await callbackFor(app, browser);
        app.emulator.failNext('token', { status: 503 });
        return callback.href;
      },
      ['exchange-failed', 'ARGUS_HTTP'],
    ],
    [
      'a profile request that fails',
      {},
      async (browser) => {
        const callback = await callbackFor(app, browser);
        app.emulator.failNext('currentuser', { status: 503 });
        return callback.href;
      },
      ['profile-failed', 'ARGUS_HTTP'],
    ],
    [
      'a verify function that answers with no user',
      { verify: async () => false },
      async (browser) => (await callbackFor(app, browser)).href,
      ['verify-refused', undefined],
    ],
    [
      'a verify function that throws',
      {
        verify: async () => {
          throw Object.assign(new Error('the user directory is down'), { code: 'DIRECTORY' });
        },
      },
      async (browser) => (await callbackFor(app, browser)).href,
      ['verify-failed', 'DIRECTORY'],
    ],
  ])('%s', async (_name, options, callback, expected) => {
    expect(await failing(options, callback)).toEqual(expected);
  });

  it('a successful login or its duplicate callback emits no login-failed', async () => {
    const seen = await start();
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    const answers = await Promise.all([
      browser.request(callback.href),
      browser.request(callback.href),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([302, 302]);
    expect(seen.map(([name]) => name)).toEqual(['login']);
  });
});

describe('strategy.stats()', () => {
  it('counts refreshes in flight, kept refresh answers and logout markers, and the local coordinator’s records', async () => {
    // A store that reads the stats while a refresh saves its answer, still in flight.
    const during: number[] = [];
    class WatchingStore extends session.MemoryStore {
      override set(sid: string, record: session.SessionData, done?: (err?: unknown) => void) {
        during.push(app.strategy.stats().refreshesInFlight);
        super.set(sid, record, done);
      }
    }
    await start({ store: new WatchingStore() });
    expect(app.strategy.stats()).toEqual({
      refreshesInFlight: 0,
      successorChains: 0,
      logoutMarkers: 0,
      pendingRetries: 0,
      breaker: 'closed',
      openApiServices: [],
      localCoordinator: { successorChains: 0, logoutMarkers: 0, loginClaims: 0 },
    });
    const { browser } = await app.login();
    advance(250_000);
    during.length = 0;
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(200);
    expect(during[0]).toBe(1);
    expect(app.strategy.stats()).toEqual({
      refreshesInFlight: 0,
      successorChains: 1,
      logoutMarkers: 0,
      pendingRetries: 0,
      breaker: 'closed',
      openApiServices: [],
      localCoordinator: { successorChains: 1, logoutMarkers: 0, loginClaims: 1 },
    });
    await browser.request(`${app.url}/logout`, { method: 'POST' });
    expect(app.strategy.stats()).toMatchObject({
      successorChains: 0,
      logoutMarkers: 1,
      localCoordinator: { successorChains: 0, logoutMarkers: 1 },
    });
  });

  it('counts coordination writes being retried, and leaves out localCoordinator for another coordinator', async () => {
    // A coordinator whose store cannot record successors: each refresh leaves a retry.
    const local = new LocalRefreshCoordinator();
    const wrapped = {
      acquire: () => local.acquire(),
      facts: (key: string, replaced: string | undefined) => local.facts(key, replaced),
      markLoggedOut: (key: string, ttl: number) => local.markLoggedOut(key, ttl),
      claim: (key: string, ttl: number) => local.claim(key, ttl),
      settleClaim: (key: string, outcome: 'success' | 'failure') => local.settleClaim(key, outcome),
      claimOutcome: (key: string) => local.claimOutcome(key),
      recordSuccessor: async () => {
        throw new Error('the store is down');
      },
    };
    const seen = await start({ strategy: { coordinator: wrapped } });
    app.strategy.events.on('problem', () => undefined);
    const { browser } = await app.login();
    advance(250_000);
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(200);
    expect(seen.map(([name]) => name)).toEqual(['login', 'refresh']);
    expect(app.strategy.stats()).toEqual({
      refreshesInFlight: 0,
      successorChains: 1,
      logoutMarkers: 0,
      pendingRetries: 1,
      breaker: 'closed',
      openApiServices: [],
    });
  });
});
