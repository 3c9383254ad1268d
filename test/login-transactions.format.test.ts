import type { SessionData } from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { callbackFor } from './helpers/hostile.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

type Stored = Record<string, unknown>;

/** An app with `/set-return?to=`, which puts a page to return to in the session. */
function start(): Promise<TestApp> {
  return startTestApp({
    routes: (express) => {
      express.get('/set-return', (req, res) => {
        (req.session as unknown as Stored).returnTo = String(req.query.to);
        res.end();
      });
    },
  });
}

async function stored(browser: Browser): Promise<Stored> {
  const record = await app.storedSession(app.sessionId(browser) ?? '');
  if (record === undefined) throw new Error('no session stored');
  return record;
}

function overwrite(browser: Browser, record: Stored): Promise<void> {
  return new Promise((resolve, reject) =>
    app.store.set(app.sessionId(browser) ?? '', record as unknown as SessionData, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

/** Starts a login that returns to `page` and stops at its callback. */
async function pendingLogin(browser: Browser, page: string): Promise<URL> {
  await browser.request(`${app.url}/set-return?to=${encodeURIComponent(page)}`);
  return callbackFor(app, browser);
}

describe('logins under way, as the session stores them', () => {
  it('stores each as a record of fixed keys, state first, and completes it', async () => {
    app = await start();
    const browser = new Browser();
    const callback = await pendingLogin(browser, '/reports');
    const logins = (await stored(browser)).argusLogins as Stored[];
    expect(logins).toHaveLength(1);
    const [login] = logins as [Stored];
    expect(Object.keys(login)).toEqual(['state', 'createdAt', 'verifier', 'returnTo']);
    expect(login.state).toBe(callback.searchParams.get('state'));
    expect(login.returnTo).toBe('/reports');
    const landing = await browser.follow(callback.href);
    expect(landing.url).toBe(`${app.url}/reports`);
    expect(app.emulator.requestsTo('token').at(-1)?.form?.code_verifier).toEqual([login.verifier]);
    expect((await stored(browser)).argusLogins).toBeUndefined();
  });

  it('completes a login started before an upgrade, stored keyed by state as 0.1 did', async () => {
    app = await start();
    const browser = new Browser();
    const callback = await pendingLogin(browser, '/reports');
    const record = await stored(browser);
    const legacy: Record<string, Stored> = {};
    for (const { state, ...txn } of record.argusLogins as Stored[]) legacy[String(state)] = txn;
    await overwrite(browser, { ...record, argusLogins: legacy });
    const landing = await browser.follow(callback.href);
    expect(landing.url).toBe(`${app.url}/reports`);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect((await browser.request(`${app.url}/app/me`)).status).toBe(200);
    // One-time still: the replay finds nothing.
    expect((await browser.follow(callback.href)).url).toBe(`${app.url}/login-failed`);
  });
});

describe("other tabs' landing pages, kept by the logged-in session", () => {
  /** Two logins in two tabs; the second completes. Returns the first's callback. */
  async function twoTabs(browser: Browser): Promise<URL> {
    // Logged in to the portal, so that each login stops at its callback.
    await app.login(browser);
    const first = await pendingLogin(browser, '/first');
    const second = await pendingLogin(browser, '/second');
    expect((await browser.follow(second.href)).url).toBe(`${app.url}/second`);
    return first;
  }

  it('stores them as records of a fingerprint, a time and the page, nothing that logs in', async () => {
    app = await start();
    const browser = new Browser();
    const first = await twoTabs(browser);
    const record = await stored(browser);
    const landings = record.argusLandings as Stored[];
    expect(landings).toHaveLength(1);
    expect(Object.keys(landings[0] as Stored)).toEqual(['key', 'createdAt', 'returnTo']);
    const state = first.searchParams.get('state') ?? '';
    expect(JSON.stringify(record)).not.toContain(state);
    expect(JSON.stringify(landings)).not.toMatch(/verifier/);
    app.emulator.clearRequests();
    const late = await browser.request(first.href);
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/first');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect((await stored(browser)).argusLandings).toBeUndefined();
  });

  it('reads them keyed by fingerprint, as 0.1 stored them', async () => {
    app = await start();
    const browser = new Browser();
    const first = await twoTabs(browser);
    const record = await stored(browser);
    const legacy: Record<string, Stored> = {};
    for (const { key, ...landing } of record.argusLandings as Stored[]) {
      legacy[String(key)] = landing;
    }
    await overwrite(browser, { ...record, argusLandings: legacy });
    const late = await browser.request(first.href);
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/first');
    expect((await stored(browser)).argusLandings).toBeUndefined();
  });
});

describe('a session record with junk where the logins are', () => {
  const junk = [
    null,
    7,
    'state',
    [],
    { state: 'short', createdAt: 1 },
    { state: 'A'.repeat(43), createdAt: 'yesterday' },
    { createdAt: Date.now() },
    JSON.parse('{"__proto__": {"polluted": true}, "state": 5}'),
  ];

  it('completes the real login among junk entries and keeps none of them', async () => {
    app = await start();
    const browser = new Browser();
    const callback = await pendingLogin(browser, '/reports');
    const record = await stored(browser);
    const logins = record.argusLogins as Stored[];
    await overwrite(browser, { ...record, argusLogins: [...junk, ...logins, ...junk] });
    const landing = await browser.follow(callback.href);
    expect(landing.url).toBe(`${app.url}/reports`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await stored(browser)).argusLogins).toBeUndefined();
  });

  it('refuses a callback whose login is only junk, with no token request', async () => {
    app = await start();
    const browser = new Browser();
    const callback = await pendingLogin(browser, '/reports');
    const state = callback.searchParams.get('state') ?? '';
    const record = await stored(browser);
    // The state is there, but not as a login: no time, or a time that is not a number.
    const forged = [{ state }, { state, createdAt: String(Date.now()) }, ...junk];
    await overwrite(browser, { ...record, argusLogins: forged });
    app.emulator.clearRequests();
    expect((await browser.follow(callback.href)).url).toBe(`${app.url}/login-failed`);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('lands a late callback among junk landings, junk under its own key too', async () => {
    app = await start();
    const browser = new Browser();
    await app.login(browser);
    const first = await pendingLogin(browser, '/first');
    const second = await pendingLogin(browser, '/second');
    const third = await pendingLogin(browser, '/third');
    await browser.follow(third.href);
    const record = await stored(browser);
    const landings = record.argusLandings as Stored[];
    // Keep the first tab's landing among junk; drop the second's.
    const firstOnly = landings.filter((landing) => landing.returnTo === '/first');
    expect(firstOnly).toHaveLength(1);
    const bad = [null, 3, { key: 5 }, { key: (firstOnly[0] as Stored).key, createdAt: 'x' }];
    await overwrite(browser, { ...record, argusLandings: [...bad, ...firstOnly, ...bad] });
    app.emulator.clearRequests();
    const late = await browser.request(first.href);
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/first');
    const lost = await browser.request(second.href);
    expect(lost.headers.get('location')).toBe('/login-failed');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect((await browser.request(`${app.url}/app/me`)).status).toBe(200);
  });
});
