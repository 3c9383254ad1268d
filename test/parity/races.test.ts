import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Browser, inputValue } from '../helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from '../helpers/time.ts';
import { FRAMEWORKS, type ScenarioApp, type ScenarioOptions } from './adapters.ts';
import { record } from '../helpers/events.ts';

let app: ScenarioApp | undefined;
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  await app?.close();
  app = undefined;
});

const api = { headers: { accept: 'application/json' } };

/** A second browser holding a copy of `browser`'s cookies for `url` (a kept cookie). */
function copyOf(browser: Browser, url: string): Browser {
  const copy = new Browser(browser.accept);
  copy.jar.set(new URL(url).hostname, new Map(browser.cookies(url)));
  return copy;
}

/** Events of `name` the strategy emits, as they come. */

describe.each(FRAMEWORKS)('the session’s promises under races in %s', (_name, start) => {
  async function loggedIn(options: ScenarioOptions = {}): Promise<[ScenarioApp, Browser]> {
    const started = await start(options);
    app = started;
    const { browser } = await started.login();
    started.emulator.clearRequests();
    return [started, browser];
  }

  /** A login's callback URL for `browser`, with the user already known to the portal. */
  async function pendingCallback(on: ScenarioApp, browser: Browser): Promise<string> {
    const login = await browser.request(`${on.url}/login`);
    const authorize = await browser.request(login.headers.get('location') ?? '');
    return authorize.headers.get('location') ?? '';
  }

  it('exchanges the code once for a callback sent five times at once, and ends logged in', async () => {
    const [on, browser] = await loggedIn({ emulator: { rotateRefreshTokens: true } });
    await browser.request(`${on.url}/logout`, { method: 'POST' });
    const callback = await pendingCallback(on, browser);
    on.emulator.clearRequests();
    const answers = await Promise.all(Array.from({ length: 5 }, () => browser.request(callback)));
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(302));
    // Every copy lands where the one that went on lands.
    expect(answers.map((a) => a.headers.get('location'))).toEqual(Array(5).fill('/'));
    expect(on.emulator.requestsTo('token')).toHaveLength(1);
    expect(on.emulator.activeGrants('alice')).toBe(1);
    const me = await browser.request(`${on.url}/app/me`, api);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).user.username).toBe('alice');
  });

  it('lands a copy of the callback that arrives after the first copy replaced the session, and leaves the new session alone', async () => {
    const [on, browser] = await loggedIn({ emulator: { rotateRefreshTokens: true } });
    await browser.request(`${on.url}/logout`, { method: 'POST' });
    const callback = await pendingCallback(on, browser);
    // The same request sent twice: the copy carries the pre-login session's cookie.
    const late = copyOf(browser, on.url);
    on.emulator.clearRequests();
    expect((await browser.request(callback)).status).toBe(302);
    const copy = await late.request(callback);
    expect(copy.status).toBe(302);
    expect(copy.headers.get('location')).toBe('/');
    // No cookie: the browser, which keeps the last one it got, stays logged in.
    expect(copy.headers.get('set-cookie')).toBeNull();
    expect(on.emulator.requestsTo('token')).toHaveLength(1);
    const me = await browser.request(`${on.url}/app/me`, api);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).user.username).toBe('alice');
  });

  it('writes nothing back when a refresh lands after the logout: the kept cookie stays logged out', async () => {
    const [on, browser] = await loggedIn();
    const sid = on.sessionId(browser) ?? '';
    const kept = copyOf(browser, on.url);
    // Inside the refresh window, still valid: the logout itself needs no refresh.
    advance(270_000);
    on.emulator.failNext('token', { delay: 300 });
    // Argus does not end its session at the logout (down for that call), so the refresh
    // in flight succeeds there.
    on.emulator.failNext('session-delete', { status: 503 });
    const refreshing = browser.request(`${on.url}/app/me`, api);
    await vi.waitFor(() => expect(on.emulator.requestsTo('token')).toHaveLength(1));
    const logout = await browser.request(`${on.url}/logout`, { method: 'POST', ...api });
    expect(logout.status).toBe(204);
    const late = await refreshing;
    expect(late.status).toBe(401);
    expect(JSON.parse(late.body)).toEqual({ error: 'session_expired' });
    expect(await on.storedSession(sid)).toBeUndefined();
    const again = await kept.request(`${on.url}/app/me`, api);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body)).toEqual({ error: 'login_required' });
  });

  it('follows every recorded refresh when a copy older than the last two is saved back', async () => {
    const [on, browser] = await loggedIn({
      emulator: { rotateRefreshTokens: true, reuseDetection: true },
    });
    const sid = on.sessionId(browser) ?? '';
    const stale = await on.storedSession(sid);
    for (let i = 0; i < 2; i++) {
      advance(400_000);
      expect((await browser.request(`${on.url}/app/argus`, api)).status).toBe(200);
    }
    // A request that loaded the session before both refreshes ends now and saves its copy.
    await on.overwriteSession(sid, stale ?? {});
    expect((await browser.request(`${on.url}/app/argus`, api)).status).toBe(200);
    advance(400_000);
    expect((await browser.request(`${on.url}/app/argus`, api)).status).toBe(200);
    expect(on.emulator.requestsTo('token')).toHaveLength(3);
    expect(on.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
    expect(on.emulator.activeGrants('alice')).toBe(1);
  });

  it('lets no login planted in the pre-login session switch the logged-in user', async () => {
    app = await start();
    const on = app;
    const victim = new Browser();
    // Whoever set the victim's cookie starts a login in that session and completes it at
    // the portal as themselves, keeping the callback.
    const planted = await victim.request(`${on.url}/login`);
    const attacker = new Browser();
    const form = await attacker.follow(planted.headers.get('location') ?? '');
    const posted = await attacker.request(`${on.emulator.portalURL}/spa/login`, {
      form: {
        username: 'bob',
        password: 'bob-password',
        return: inputValue(form.body, 'return') ?? '',
      },
    });
    const authorize = await attacker.request(
      new URL(posted.headers.get('location') ?? '', on.emulator.portalURL).href,
    );
    const trap = authorize.headers.get('location') ?? '';
    expect(trap).toContain('code=');
    // The victim logs in as themselves, then is made to open the kept callback.
    await on.login(victim, 'alice');
    const stored = await on.storedSession(on.sessionId(victim) ?? '');
    expect(stored?.argusLogins).toBeUndefined();
    expect(JSON.stringify(stored?.argusLandings ?? {})).not.toMatch(/verifier/);
    on.emulator.clearRequests();
    const sprung = await victim.request(trap);
    expect(sprung.status).toBe(302);
    expect(sprung.headers.get('location')).toBe('/');
    expect(on.emulator.requestsTo('token')).toHaveLength(0);
    const me = await victim.request(`${on.url}/app/me`, api);
    expect(JSON.parse(me.body).user.username).toBe('alice');
  });

  it('ends the Argus session of an idle user whose access token has expired', async () => {
    const [on, browser] = await loggedIn({ emulator: { rotateRefreshTokens: true } });
    advance(400_000);
    const logout = await browser.request(`${on.url}/logout`, { method: 'POST', ...api });
    expect(logout.status).toBe(204);
    expect(on.emulator.requestsTo('token')).toHaveLength(1);
    const ended = on.emulator.requestsTo('session-delete');
    expect(ended).toHaveLength(1);
    expect(on.emulator.activeGrants('alice')).toBe(0);
  });

  it('keeps what the user gets when an event listener throws, and reports it', async () => {
    const [on, browser] = await loggedIn();
    const problems = record(on, 'problem');
    on.strategy.events.on('refresh', () => {
      throw new Error('listener bug');
    });
    advance(400_000);
    const me = await browser.request(`${on.url}/app/me`, api);
    expect(me.status).toBe(200);
    expect(problems.map((p) => p.what)).toEqual(['a "refresh" listener']);
    // The refreshed set was kept: the next request needs no refresh.
    expect((await browser.request(`${on.url}/app/me`, api)).status).toBe(200);
    expect(on.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('emits no logout event for a logout with nobody logged in', async () => {
    app = await start();
    const logouts = record(app, 'logout');
    const answer = await new Browser().request(`${app.url}/logout`, { method: 'POST', ...api });
    expect(answer.status).toBe(204);
    expect(logouts).toEqual([]);
  });

  it('answers "Argus unavailable" on the API path as the guard does: 503 with Retry-After', async () => {
    const [on, browser] = await loggedIn({ guard: { retryAfter: 7000 } });
    on.emulator.failNext('currentuser', { status: 401 });
    on.emulator.failNext('token', { status: 502 });
    const answer = await browser.request(`${on.url}/app/argus`, api);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('7');
    // And when the API call itself times out.
    on.emulator.failNext('currentuser', { hang: true });
    const hung = await browser.request(`${on.url}/app/argus`, api);
    expect(hung.status).toBe(503);
    expect(hung.headers.get('retry-after')).toBe('7');
    // The session was kept.
    expect((await browser.request(`${on.url}/app/me`, api)).status).toBe(200);
  });
});
