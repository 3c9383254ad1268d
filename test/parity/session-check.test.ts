/**
 * `requireArgus({ sessionCheckInterval })` over real HTTP in Express and Koa: a user who
 * logged out of Argus is logged out here at the first request after the interval, though
 * the token is fresh; Argus unavailable for the check changes nothing; concurrent requests
 * share one check; instances share the check time; off by default.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArgusEvents } from 'passport-argus';
import type { Browser } from '../helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from '../helpers/time.ts';
import {
  FRAMEWORKS,
  type ScenarioApp,
  type ScenarioOptions,
  type StartScenarioApp,
} from './adapters.ts';

const api = { headers: { accept: 'application/json' } };
const INTERVAL = 30_000;
const checked: ScenarioOptions = { guard: { sessionCheckInterval: INTERVAL } };

let apps: ScenarioApp[] = [];
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  // The instances that share another's emulator close first.
  for (const app of apps.reverse()) await app.close();
  apps = [];
});

describe.each(FRAMEWORKS)('requireArgus checks the Argus session in %s', (_name, start) => {
  async function started(options: ScenarioOptions = {}): Promise<ScenarioApp> {
    const app = await (start as StartScenarioApp)(options);
    apps.push(app);
    return app;
  }

  async function loggedIn(options: ScenarioOptions = checked): Promise<[ScenarioApp, Browser]> {
    const app = await started(options);
    const { browser } = await app.login();
    app.emulator.clearRequests();
    return [app, browser];
  }

  const stored = (app: ScenarioApp, browser: Browser) =>
    app.storedSession(app.sessionId(browser) ?? '');

  function logouts(app: ScenarioApp): ArgusEvents['logout'][0][] {
    const seen: ArgusEvents['logout'][0][] = [];
    app.strategy.events.on('logout', (event) => seen.push(event));
    return seen;
  }

  /** Holds every request to `/app/me` until `count` of them have loaded their session. */
  function gathering(count: number): ScenarioOptions['hold'] {
    let arrived = 0;
    let release = () => {};
    const all = new Promise<void>((resolve) => {
      release = resolve;
    });
    return (path) => {
      if (path !== '/app/me') return undefined;
      if (++arrived === count) release();
      return all;
    };
  }

  it('logs out a user who logged out of Argus at the first request after the interval, with one session check and no refresh', async () => {
    const [app, browser] = await loggedIn();
    const seen = logouts(app);
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(INTERVAL);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    const checks = app.emulator.requestsTo('session');
    expect(checks).toHaveLength(1);
    expect(checks[0]?.method).toBe('GET');
    expect(checks[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(checks[0]?.headers.authorization).toMatch(/^Bearer alice\//);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(browser.cookie(app.url, app.cookieName)).toBeUndefined();
    expect(seen).toEqual([
      {
        user: expect.objectContaining({ username: 'alice' }),
        reason: 'rejected',
        argusSession: 'not-called',
        durationMs: expect.any(Number),
      },
    ]);
    const after = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(after.body)).toEqual({ error: 'login_required' });
    expect(app.emulator.requests).toHaveLength(1);
  });

  it('sends a page request to the login after Argus ended the session, with its return path', async () => {
    const [app, browser] = await loggedIn();
    app.emulator.logoutUser('alice');
    advance(INTERVAL);
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect((await stored(app, browser))?.returnTo).toBe('/app/page');
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
  });

  it('checks at most once per interval: none before it, one after, and the check time is stored', async () => {
    const [app, browser] = await loggedIn();
    const before = JSON.stringify(await stored(app, browser));
    advance(INTERVAL - 1);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    // The fresh path: no Argus call and no session write.
    expect(app.emulator.requests).toHaveLength(0);
    expect(JSON.stringify(await stored(app, browser))).toBe(before);
    advance(1);
    const checkedAt = Date.now();
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    expect((await stored(app, browser))?.argusCheckedAt).toBe(checkedAt);
    advance(INTERVAL - 1);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requests).toHaveLength(1);
    advance(1);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(2);
  });

  it('keeps the session and lets the request on when Argus is down for the check, and asks again at the next request', async () => {
    const [app, browser] = await loggedIn();
    const seen = logouts(app);
    const before = await stored(app, browser);
    advance(INTERVAL);
    app.emulator.failNext('session', { status: 503, body: '{}' });
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).user).toMatchObject({ username: 'alice' });
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    const after = await stored(app, browser);
    expect(after?.argus).toEqual(before?.argus);
    expect(after?.argusCheckedAt).toBeUndefined();
    expect(seen).toEqual([]);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(2);
  });

  it.each([
    ['a timeout', { hang: true }],
    ['a 403', { status: 403, body: '{}' }],
    ['a 500', { status: 500, body: '{}' }],
  ])('keeps the session through %s answered to the check', async (_how, plan) => {
    const [app, browser] = await loggedIn({ ...checked, strategy: { timeout: 300 } });
    advance(INTERVAL);
    app.emulator.failNext('session', plan);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    expect((await stored(app, browser))?.argus).toBeDefined();
  });

  it('makes no check while the Argus breaker is open', async () => {
    const [app, browser] = await loggedIn({ ...checked, strategy: { breaker: { failures: 1 } } });
    app.emulator.logoutUser('alice');
    advance(INTERVAL);
    app.emulator.failNext('session', { status: 503, body: '{}' });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    // Open now: refused before any call, so the session stays although Argus ended it.
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
  });

  it('shares one check among 20 concurrent requests of one session', async () => {
    const [app, browser] = await loggedIn({ ...checked, hold: gathering(20) });
    advance(INTERVAL);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => browser.request(`${app.url}/app/me`, api)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
  });

  it('logs out once when 20 concurrent requests share a check that Argus answers with 401', async () => {
    const [app, browser] = await loggedIn({ ...checked, hold: gathering(20) });
    const seen = logouts(app);
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(INTERVAL);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => browser.request(`${app.url}/app/me`, api)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(401));
    expect(answers.every((a) => JSON.parse(a.body).error === 'session_expired')).toBe(true);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(await app.storedSession(sid)).toBeUndefined();
  });

  it('counts a refresh as a check: none until the interval has passed since it', async () => {
    const [app, browser] = await loggedIn();
    advance(250_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(app.emulator.requestsTo('session')).toHaveLength(0);
    advance(INTERVAL - 1);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(0);
    advance(1);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
  });

  it('shares the check time with another instance through the session store', async () => {
    const [first, browser] = await loggedIn();
    const second = await started({ ...checked, shareWith: first });
    advance(INTERVAL);
    expect((await browser.request(`${first.url}/app/me`, api)).status).toBe(200);
    expect(first.emulator.requestsTo('session')).toHaveLength(1);
    expect((await browser.request(`${second.url}/app/me`, api)).status).toBe(200);
    expect(first.emulator.requestsTo('session')).toHaveLength(1);
  });

  it('checks sealed token sets too, and keeps the check time in clear beside them', async () => {
    const encryptionKeys = randomBytes(32).toString('base64');
    const [app, browser] = await loggedIn({ ...checked, strategy: { encryptionKeys } });
    advance(INTERVAL);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(app.emulator.requestsTo('session')).toHaveLength(1);
    const record = await stored(app, browser);
    expect(record?.argus).toMatchObject({ sealed: expect.any(String) });
    expect(record?.argusCheckedAt).toBe(Date.now());
    app.emulator.logoutUser('alice');
    advance(INTERVAL);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
  });

  it('makes no check by default: a logout at Argus waits for the next refresh', async () => {
    const [quiet, browser] = await loggedIn({});
    const [checking, other] = await loggedIn();
    quiet.emulator.logoutUser('alice');
    checking.emulator.logoutUser('alice');
    advance(200_000);
    expect((await browser.request(`${quiet.url}/app/me`, api)).status).toBe(200);
    expect(quiet.emulator.requests).toHaveLength(0);
    // The same moment with the option on: the logout is noticed now.
    expect((await other.request(`${checking.url}/app/me`, api)).status).toBe(401);
    expect(checking.emulator.requestsTo('session')).toHaveLength(1);
    advance(50_000);
    const answer = await browser.request(`${quiet.url}/app/me`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(quiet.emulator.requestsTo('token')).toHaveLength(1);
    expect(quiet.emulator.requestsTo('session')).toHaveLength(0);
  });
});
