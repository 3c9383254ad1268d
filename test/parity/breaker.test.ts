import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.ts';
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
/** The defaults: opens after two unavailable answers in a row; one probe per 5 s. */
const breaker = {};
/** Past the emulator's 300-second tokens. */
const EXPIRED = 400_000;
/** Inside the 60-second refresh window, still valid. */
const IN_WINDOW = 250_000;

describe.each(FRAMEWORKS)('the Argus breaker in %s', (_name, start) => {
  async function loggedIn(options: ScenarioOptions = {}): Promise<[ScenarioApp, Browser]> {
    const started = await (start as StartScenarioApp)({
      ...options,
      strategy: { timeout: 300, breaker, ...options.strategy },
    });
    app = started;
    const { browser } = await started.login();
    started.emulator.clearRequests();
    return [started, browser];
  }

  const refreshCalls = (on: ScenarioApp) => on.emulator.requestsTo('token').length;

  it.each([
    ['503s', { status: 503, body: '{}' }],
    ['timeouts', { hang: true }],
    ['reset connections', { reset: true }],
  ])(
    'opens after unavailable answers in a row (%s): an expired session gets 503 with Retry-After at once, without a call',
    async (_how, plan) => {
      const [app, browser] = await loggedIn();
      const opened = record(app, 'breaker-open');
      advance(EXPIRED);
      app.emulator.failNext('token', { ...plan, times: 2 });
      for (let i = 0; i < 2; i++) {
        expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
      }
      expect(opened).toEqual([{ failures: 2, source: 'local', service: 'authentication' }]);
      const down = await browser.request(`${app.url}/app/me`, api);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(down.body)).toEqual({ error: 'argus_unavailable' });
      expect(refreshCalls(app)).toBe(2);
      // The session is kept: the page works again once Argus is back and probed.
      expect(await app.storedSession(app.sessionId(browser) ?? '')).toHaveProperty('argus');
    },
  );

  it('lets a session whose token is still valid go on without trying Argus while open', async () => {
    const [app, browser] = await loggedIn();
    const failures = record(app, 'refresh-failed');
    advance(IN_WINDOW);
    app.emulator.failNext('token', { status: 503, times: 2 });
    for (let i = 0; i < 4; i++) {
      const answer = await browser.request(`${app.url}/app/me`, api);
      expect(answer.status).toBe(200);
    }
    expect(refreshCalls(app)).toBe(2);
    // Two refreshes failed; the two requests that did not try reported nothing.
    expect(failures.map((f) => f.tokenStillValid)).toEqual([true, true]);
  });

  it('sends one probe per interval, and a successful probe closes it', async () => {
    const [app, browser] = await loggedIn();
    const closed = record(app, 'breaker-close');
    advance(EXPIRED);
    app.emulator.failNext('token', { status: 503, times: 3 });
    for (let i = 0; i < 2; i++) await browser.request(`${app.url}/app/me`, api);
    advance(5000);
    // The probe fails: still open, and nothing more goes to Argus within the interval.
    const probed = await Promise.all(
      Array.from({ length: 5 }, () => browser.request(`${app.url}/app/me`, api)),
    );
    expect(probed.map((a) => a.status)).toEqual(Array(5).fill(503));
    expect(refreshCalls(app)).toBe(3);
    expect(app.strategy.stats().breaker).toBe('open');
    advance(4000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(refreshCalls(app)).toBe(3);
    advance(1000);
    // Argus is back: the next probe refreshes, and the user goes on.
    const back = await browser.request(`${app.url}/app/me`, api);
    expect(back.status).toBe(200);
    expect(refreshCalls(app)).toBe(4);
    expect(closed).toEqual([{ downFor: 10_000, source: 'local', service: 'authentication' }]);
    expect(app.strategy.stats().breaker).toBe('closed');
    expect((await browser.request(`${app.url}/app/page`)).status).toBe(200);
  });

  it('rides through a lone unavailable answer: the next refresh goes to Argus and succeeds', async () => {
    const [app, browser] = await loggedIn();
    const opened = record(app, 'breaker-open');
    advance(EXPIRED);
    app.emulator.failNext('token', { status: 503 });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(refreshCalls(app)).toBe(2);
    expect(opened).toEqual([]);
    expect(app.strategy.stats().breaker).toBe('closed');
  });

  it('counts a rejection as Argus answering: it resets the count and never opens the breaker', async () => {
    const [app, alice] = await loggedIn({ emulator: { rejection: 'invalid_grant' } });
    const { browser: bob } = await app.login(new Browser(), 'bob');
    const opened = record(app, 'breaker-open');
    app.emulator.logoutUser('bob');
    advance(EXPIRED);
    app.emulator.failNext('token', { status: 503 });
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    // Bob's refresh is rejected: Argus answered, so alice's count starts again.
    const rejected = await bob.request(`${app.url}/app/me`, api);
    expect(JSON.parse(rejected.body)).toEqual({ error: 'session_expired' });
    app.emulator.failNext('token', { status: 503, times: 2 });
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(opened).toEqual([]);
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(opened).toHaveLength(1);
    const calls = refreshCalls(app);
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(refreshCalls(app)).toBe(calls);
  });

  it('answers API calls with 503 at once while open, and opens on 502/503/504 from the API but not on a 500', async () => {
    const [app, browser] = await loggedIn();
    app.emulator.failNext('currentuser', { status: 500, times: 3 });
    for (let i = 0; i < 3; i++) await browser.request(`${app.url}/app/argus`, api);
    app.emulator.failNext('currentuser', { status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(503);
    }
    // Three 500s did not open it: all five calls reached Argus.
    const calls = app.emulator.requestsTo('currentuser').length;
    expect(calls).toBe(5);
    const refused = await browser.request(`${app.url}/app/argus`, api);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(JSON.parse(refused.body)).toEqual({ error: 'ARGUS_BREAKER_OPEN' });
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(calls);
  });

  it('opens the breaker of one API service alone: the session refreshes on while that service is refused', async () => {
    const [app, browser] = await loggedIn();
    const opened = record(app, 'breaker-open');
    app.emulator.failNext('currentuser', { status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(503);
    }
    expect(opened).toEqual([{ failures: 2, source: 'local', service: 'currentuser' }]);
    expect(app.strategy.stats()).toMatchObject({
      breaker: 'closed',
      openApiServices: ['currentuser'],
    });
    const refused = await browser.request(`${app.url}/app/argus`, api);
    expect(JSON.parse(refused.body)).toEqual({ error: 'ARGUS_BREAKER_OPEN' });
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(2);
    // The token has expired meanwhile: its refresh goes to Argus, and the page works.
    advance(EXPIRED);
    const page = await browser.request(`${app.url}/app/me`, api);
    expect(page.status).toBe(200);
    expect(refreshCalls(app)).toBe(1);
    expect(opened).toHaveLength(1);
  });

  it('logs out at once while open, without waiting for Argus', async () => {
    const [app, browser] = await loggedIn();
    const sid = app.sessionId(browser) ?? '';
    advance(IN_WINDOW);
    app.emulator.failNext('token', { hang: true, times: 2 });
    for (let i = 0; i < 2; i++) await browser.request(`${app.url}/app/me`, api);
    const out = await browser.request(`${app.url}/logout`, { method: 'POST', ...api });
    expect(out.status).toBe(204);
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(app.emulator.requestsTo('session-delete')).toHaveLength(0);
  });

  it('answers a request held past the logout as logged out while open, though its token is still valid', async () => {
    let held: Promise<void> | undefined;
    let release: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const [app, browser] = await loggedIn({
      hold: (path) => {
        if (path !== '/app/me' || held === undefined) return undefined;
        reached();
        return held;
      },
    });
    advance(IN_WINDOW);
    app.emulator.failNext('token', { status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    }
    expect(app.strategy.stats().breaker).toBe('open');
    // Its session loaded, this request waits while the user logs out in another tab.
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const late = browser.request(`${app.url}/app/me`, api);
    await waiting;
    const out = await browser.request(`${app.url}/logout`, { method: 'POST', ...api });
    expect(out.status).toBe(204);
    held = undefined;
    release();
    const answer = await late;
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
  });

  it('after an unavailable answer, lets one call through at a time: the others wait for its outcome', async () => {
    const [app, alice] = await loggedIn();
    const { browser: bob } = await app.login(new Browser(), 'bob');
    const { browser: alice2 } = await app.login(new Browser(), 'alice');
    app.emulator.clearRequests();
    const opened = record(app, 'breaker-open');
    advance(EXPIRED);
    app.emulator.failNext('token', { status: 503, times: 3 });
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    // Two sessions at once after the failure: one call goes to Argus, and its failure
    // opens the breaker before the other one is tried.
    const both = await Promise.all(
      [bob, alice2].map((browser) => browser.request(`${app.url}/app/me`, api)),
    );
    expect(both.map((answer) => answer.status)).toEqual([503, 503]);
    expect(refreshCalls(app)).toBe(2);
    expect(opened).toEqual([{ failures: 2, source: 'local', service: 'authentication' }]);
  });

  it('counts a call Argus leaves unanswered past slowCall as unavailable: a hang opens it without waiting for the timeouts', async () => {
    const [app, alice] = await loggedIn({
      strategy: { timeout: 10_000, breaker: { ...breaker, slowCall: 100 } },
    });
    const { browser: bob } = await app.login(new Browser(), 'bob');
    app.emulator.clearRequests();
    const opened = record(app, 'breaker-open');
    const failed = record(app, 'refresh-failed');
    advance(EXPIRED);
    app.emulator.failNext('token', { hang: true, times: 2 });
    // Each request is answered once its call passes slowCall, long before the 10 s timeout
    // (the test's own limit is 5 s).
    for (const browser of [alice, bob]) {
      const down = await browser.request(`${app.url}/app/me`, api);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
    }
    expect(opened).toEqual([{ failures: 2, source: 'local', service: 'authentication' }]);
    expect((await alice.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(refreshCalls(app)).toBe(2);
    // The calls have not failed yet (they time out later): nothing is reported per request.
    expect(failed).toEqual([]);
  });

  it('answers at slowCall while Argus is slow to refresh, and keeps the late answer', async () => {
    const [app, browser] = await loggedIn({
      strategy: { timeout: 10_000, breaker: { ...breaker, slowCall: 100 } },
    });
    const failed = record(app, 'refresh-failed');
    const refreshed = once(app.strategy.events, 'refresh');
    const sid = app.sessionId(browser) ?? '';
    const before = ((await app.storedSession(sid)) as { argus?: unknown }).argus;
    advance(EXPIRED);
    app.emulator.failNext('token', { delay: 1500 });
    const down = await browser.request(`${app.url}/app/me`, api);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    // Answered before Argus processed the refresh; so is the session's next request,
    // without a second call.
    expect(app.emulator.grantEvents().filter((e) => e.type === 'refreshed')).toEqual([]);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
    expect(refreshCalls(app)).toBe(1);
    // The late answer is kept, written to the session store and told once.
    const [event] = (await refreshed) as [{ expiresAt: Date }];
    expect(event.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const after = ((await app.storedSession(sid)) as { argus?: unknown }).argus;
    expect(after).toBeDefined();
    expect(after).not.toEqual(before);
    expect(failed).toEqual([]);
    const back = await browser.request(`${app.url}/app/me`, api);
    expect(back.status).toBe(200);
    expect(refreshCalls(app)).toBe(1);
  });

  it('logs the session out when Argus rejects a refresh that outlasted its request', async () => {
    const [app, browser] = await loggedIn({
      emulator: { rejection: 'invalid_grant' },
      strategy: { timeout: 10_000, breaker: { ...breaker, slowCall: 100 } },
    });
    const sid = app.sessionId(browser) ?? '';
    const loggedOut = once(app.strategy.events, 'logout');
    app.emulator.logoutUser('alice');
    advance(EXPIRED);
    app.emulator.failNext('token', { delay: 800 });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
    const [event] = (await loggedOut) as [{ reason: string }];
    expect(event.reason).toBe('rejected');
    expect(await app.storedSession(sid)).toBeUndefined();
    const after = await browser.request(`${app.url}/app/me`, api);
    expect(after.status).toBe(401);
    expect(refreshCalls(app)).toBe(1);
  });

  it('lets a session whose token is still valid go on at slowCall while its refresh hangs', async () => {
    const [app, browser] = await loggedIn({
      strategy: { timeout: 10_000, breaker: { ...breaker, slowCall: 100 } },
    });
    advance(IN_WINDOW);
    app.emulator.failNext('token', { hang: true });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect(refreshCalls(app)).toBe(1);
  });

  it('keeps trying Argus on every request with breaker: false', async () => {
    const [app, browser] = await loggedIn({ strategy: { breaker: false } });
    const opened = record(app, 'breaker-open');
    advance(EXPIRED);
    app.emulator.failNext('token', { status: 503, times: 4 });
    for (let i = 0; i < 4; i++) {
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(503);
    }
    expect(refreshCalls(app)).toBe(4);
    expect(opened).toEqual([]);
  });
});
