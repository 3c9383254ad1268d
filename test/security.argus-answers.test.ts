/**
 * Hostile answers from Argus (security.md, "Hostile answers from Argus"; R9 and R14), in
 * each place Argus answers: the code exchange, the refresh, and `req.argus.fetch` /
 * `req.argus.json`. Each gives a typed error with a `code`, a clean answer with nothing of
 * Argus's body in it, and the right fate for the session: a rejection logs out, an outage
 * keeps the session.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArgusEvents } from 'passport-argus';
import type { FailurePlan } from 'passport-argus/emulator';
import { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { callbackFor, collectUnhandledRejections } from './helpers/hostile.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const rejections = collectUnhandledRejections();

/** Text planted in hostile bodies: it must never come out of the app. */
const MARKER = 'UPSTREAM-BODY-MARKER';
const TIMEOUT = 400;
/** Far below "forever", far above the timeout: a bounded call ends well within it. */
const BOUND = 8_000;

/** Where a hostile 302 points: it must receive nothing. */
let target: { server: Server; url: string; hits: number };

let app: TestApp;
beforeAll(async () => {
  const server = createServer((_req, res) => {
    target.hits++;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: 0 };
  app = await startTestApp({
    strategy: { timeout: TIMEOUT },
    callback: { successReturnToOrRedirect: '/' },
    protectedRoutes: (express) => {
      express.get('/app/raw', async (req, res, next) => {
        try {
          const answer = await req.argus.fetch('/currentuser/v1/user');
          res.json({ status: answer.status, bytes: (await answer.arrayBuffer()).byteLength });
        } catch (error) {
          next(error);
        }
      });
    },
  });
});
afterAll(async () => {
  await app.close();
  target.server.closeAllConnections();
  await new Promise((resolve) => target.server.close(resolve));
});
beforeEach(() => {
  app.emulator.reset();
  app.errors.length = 0;
  target.hits = 0;
});
afterEach(() => {
  restoreTime();
  expect(rejections).toEqual([]);
  expect(target.hits).toBe(0);
});

const json = (body: unknown): FailurePlan => ({
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const good = { access_token: 'alice/abc', token_type: 'Bearer', expires_in: 300 };
const raw = (body: string): FailurePlan => ({ status: 200, contentType: 'application/json', body });

type Answer = [requirement: string, name: string, plan: () => FailurePlan, code: string];

/** Answers that are wrong whatever was asked: bodies, transport, size, time, redirects. */
const ANY_CALL: Answer[] = [
  [
    'R9',
    '502 with an HTML body',
    () => ({ status: 502, contentType: 'text/html', body: `<h1>Bad gateway ${MARKER}</h1>` }),
    'ARGUS_HTTP',
  ],
  [
    'R9',
    '503 (Argus unavailable)',
    () => ({ status: 503, contentType: 'application/json', body: '{}' }),
    'ARGUS_HTTP',
  ],
  [
    'R9',
    '200 with HTML',
    () => ({ status: 200, contentType: 'text/html', body: `<html>${MARKER}</html>` }),
    'ARGUS_BAD_RESPONSE',
  ],
  [
    'R9',
    '200 with a form-encoded body',
    () => ({
      status: 200,
      contentType: 'application/x-www-form-urlencoded',
      body: `access_token=${MARKER}&token_type=bearer`,
    }),
    'ARGUS_BAD_RESPONSE',
  ],
  ['R9', 'truncated JSON {"', () => raw('{"'), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'a connection dropped mid-body', () => ({ truncate: true }), 'ARGUS_NETWORK'],
  ['R9', 'JSON null', () => json(null), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'JSON []', () => json([]), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'JSON "s"', () => json('s'), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'JSON 42', () => json(42), 'ARGUS_BAD_RESPONSE'],
  ['R14', 'a body that never ends', () => ({ drip: true }), 'ARGUS_TIMEOUT'],
  ['R14', 'no answer at all', () => ({ hang: true }), 'ARGUS_TIMEOUT'],
  ['R14', 'a 10 MB body', () => ({ hugeBody: 10 * 1024 * 1024 }), 'ARGUS_RESPONSE_TOO_LARGE'],
  ['R14', 'a 302 to another host', () => ({ redirect: `${target.url}/steal` }), 'ARGUS_REDIRECT'],
  [
    'R14',
    'a 307 to another host (which would repeat the POST)',
    () => ({ redirect: `${target.url}/steal`, status: 307 }),
    'ARGUS_REDIRECT',
  ],
  ['R14', 'a reset connection', () => ({ reset: true }), 'ARGUS_NETWORK'],
];

/** Answers that are wrong only for a token request. */
const TOKEN_ONLY: Answer[] = [
  [
    'R9',
    'access_token missing',
    () => json({ ...good, access_token: undefined }),
    'ARGUS_BAD_RESPONSE',
  ],
  ['R9', 'access_token ""', () => json({ ...good, access_token: '' }), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'access_token a number', () => json({ ...good, access_token: 42 }), 'ARGUS_BAD_RESPONSE'],
  [
    'R9',
    'access_token an object',
    () => json({ ...good, access_token: { a: 1 } }),
    'ARGUS_BAD_RESPONSE',
  ],
  [
    'R9',
    'token_type missing',
    () => json({ ...good, token_type: undefined }),
    'ARGUS_BAD_RESPONSE',
  ],
  ['R9', 'token_type mac', () => json({ ...good, token_type: 'mac' }), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'token_type DPoP', () => json({ ...good, token_type: 'DPoP' }), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'expires_in negative', () => json({ ...good, expires_in: -1 }), 'ARGUS_BAD_RESPONSE'],
  ['R9', 'expires_in "NaN"', () => json({ ...good, expires_in: 'NaN' }), 'ARGUS_BAD_RESPONSE'],
  [
    'R9',
    'expires_in 1e309',
    () => raw('{"access_token":"alice/x","token_type":"Bearer","expires_in":1e309}'),
    'ARGUS_BAD_RESPONSE',
  ],
  [
    'R9',
    'a bare token as the whole body',
    () => ({ status: 200, contentType: 'text/plain', body: 'alice/x0x0x0' }),
    'ARGUS_BAD_RESPONSE',
  ],
];

const TOKEN_ANSWERS = [...ANY_CALL, ...TOKEN_ONLY];

/** Argus saying no to a grant, in each shape it may use. */
const REJECTIONS: [name: string, plan: FailurePlan][] = [
  [
    '400 invalid_grant',
    { status: 400, contentType: 'application/json', body: '{"error":"invalid_grant"}' },
  ],
  ['401 in the Argus envelope', { status: 401 }],
  ['403 in the Argus envelope', { status: 403 }],
];

/** Argus being unavailable during a refresh. */
const OUTAGES: [name: string, plan: FailurePlan, code: string][] = [
  ['503', { status: 503 }, 'ARGUS_HTTP'],
  ['a timeout', { hang: true }, 'ARGUS_TIMEOUT'],
  ['a reset connection', { reset: true }, 'ARGUS_NETWORK'],
];

const api = { headers: { accept: 'application/json' } };

async function loggedIn(): Promise<Browser> {
  const { browser } = await app.login();
  app.emulator.clearRequests();
  return browser;
}

async function storedTokens(browser: Browser) {
  const record = await app.storedSession(app.sessionId(browser) ?? '');
  return record?.argus as { accessToken: string } | undefined;
}

/** The events of one kind, recorded for each test of the describe block it is called in. */
function recordEvents<K extends keyof ArgusEvents>(name: K): ArgusEvents[K][0][] {
  const seen: ArgusEvents[K][0][] = [];
  const listener = ((event: ArgusEvents[K][0]) => seen.push(event)) as never;
  beforeEach(() => {
    seen.length = 0;
    app.strategy.events.on(name, listener);
  });
  afterEach(() => void app.strategy.events.off(name, listener));
  return seen;
}

/** The page and the error say what went wrong in words of our own, never in Argus's. */
function expectClean(body: string, error?: unknown): void {
  expect(body).not.toContain(MARKER);
  expect(body).not.toMatch(/\bat .+:\d+:\d+/);
  if (error !== undefined) {
    const everything = `${String(error)} ${inspect(error, { depth: 5 })}`;
    expect(everything).not.toContain(MARKER);
    expect(everything).not.toContain('alice/x0x0x0');
  }
}

async function timed<T>(run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  expect(performance.now() - started).toBeLessThan(BOUND);
  return result;
}

describe('during the code exchange', () => {
  it.each(TOKEN_ANSWERS)(
    '%s: %s is a typed error, a clean answer, and no login',
    async (_r, _name, plan, code) => {
      const browser = new Browser();
      const callback = await callbackFor(app, browser);
      app.emulator.failNext('token', plan());
      const answer = await timed(() => browser.request(callback.href));
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(answer.body)).toEqual({ error: code });
      expect(app.errors).toHaveLength(1);
      expect(app.errors[0]).toMatchObject({ code });
      expectClean(answer.body, app.errors[0]);
      expect(app.emulator.requestsTo('currentuser')).toHaveLength(0);
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
    },
  );

  it.each(REJECTIONS)(
    'R9: a rejection (%s) is a failed login, not a server error',
    async (_name, plan) => {
      const browser = new Browser();
      const callback = await callbackFor(app, browser);
      app.emulator.failNext('token', plan);
      const answer = await browser.request(callback.href);
      expect(answer.status).toBe(401);
      expect(answer.body).toBe('Unauthorized');
      expect(app.errors).toEqual([]);
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
    },
  );

  it('R9: a hostile answer of the profile endpoint after the exchange is a typed error and no login', async () => {
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    app.emulator.failNext('currentuser', json({ responseCode: 200, data: null }));
    const answer = await browser.request(callback.href);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_BAD_RESPONSE' });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
  });
});

describe('the other calls to Argus', () => {
  it('R14: a profile request that never ends is cut off at the timeout, and nobody logs in', async () => {
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    app.emulator.failNext('currentuser', { drip: true });
    const answer = await timed(() => browser.request(callback.href));
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_TIMEOUT' });
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
  });

  it.each<[string, FailurePlan]>([
    ['never answers', { hang: true }],
    ['sends a body that never ends', { drip: true }],
    ['redirects to another host', { redirect: 'placeholder' }],
  ])(
    'R14: a logout whose Argus call %s still logs out here, within the timeout',
    async (_name, plan) => {
      const browser = await loggedIn();
      const sid = app.sessionId(browser) ?? '';
      app.emulator.failNext(
        'session-delete',
        plan.redirect === undefined ? plan : { redirect: `${target.url}/steal` },
      );
      const answer = await timed(() =>
        browser.request(`${app.url}/logout`, { method: 'POST', headers: { accept: 'text/html' } }),
      );
      expect(answer.status).toBe(303);
      expect(await app.storedSession(sid)).toBeUndefined();
    },
  );
});

describe('during a refresh', () => {
  const failures = recordEvents('refresh-failed');
  const logouts = recordEvents('logout');
  beforeEach(() => useMovableTime());

  it.each(TOKEN_ANSWERS)(
    '%s: %s keeps the session (Argus is unavailable), answers 503 and recovers',
    async (_r, _name, plan, code) => {
      const browser = await loggedIn();
      const before = await storedTokens(browser);
      advance(400_000);
      app.emulator.failNext('token', plan());
      const answer = await timed(() => browser.request(`${app.url}/app/argus`, api));
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(answer.body)).toEqual({ error: 'argus_unavailable' });
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toMatchObject({ code });
      expectClean(answer.body, failures[0]?.error);
      expect(logouts).toEqual([]);
      expect(await storedTokens(browser)).toEqual(before);
      // Argus is back: the same session goes on.
      const again = await browser.request(`${app.url}/app/argus`, api);
      expect(again.status).toBe(200);
      expect(JSON.parse(again.body).userName).toBe('alice');
    },
  );

  it.each(REJECTIONS)(
    'R9: a rejection (%s) logs the user out and destroys the session record',
    async (_name, plan) => {
      const browser = await loggedIn();
      const sid = app.sessionId(browser) ?? '';
      advance(400_000);
      app.emulator.failNext('token', plan);
      const answer = await browser.request(`${app.url}/app/argus`, api);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
      expect(logouts.map((l) => l.reason)).toEqual(['rejected']);
      expect(await app.storedSession(sid)).toBeUndefined();
    },
  );

  it('R9: a browser sees a clean 503 page with none of Argus’s body while Argus is down', async () => {
    const browser = await loggedIn();
    advance(400_000);
    app.emulator.failNext('token', {
      status: 502,
      contentType: 'text/html',
      body: `<h1>${MARKER}</h1>`,
    });
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('Argus is unavailable');
    expectClean(page.body);
  });
});

describe('during req.argus.json and req.argus.fetch', () => {
  const logouts = recordEvents('logout');

  it.each(ANY_CALL)(
    '%s: req.argus.json: %s is a typed error, a clean answer, and the session kept',
    async (_r, _name, plan, code) => {
      const browser = await loggedIn();
      app.emulator.failNext('currentuser', plan());
      const answer = await timed(() => browser.request(`${app.url}/app/argus`, api));
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(answer.body)).toEqual({ error: code });
      expect(app.errors[0]).toMatchObject({ code });
      expectClean(answer.body, app.errors[0]);
      expect(logouts).toEqual([]);
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    },
  );

  it.each(ANY_CALL.filter(([r]) => r === 'R14'))(
    '%s: req.argus.fetch: %s is a typed error within the timeout, and the session kept',
    async (_r, _name, plan, code) => {
      const browser = await loggedIn();
      app.emulator.failNext('currentuser', plan());
      const answer = await timed(() => browser.request(`${app.url}/app/raw`, api));
      expect(JSON.parse(answer.body)).toEqual({ error: code });
      expect(app.errors[0]).toMatchObject({ code });
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    },
  );

  it('R9: req.argus.fetch hands back an HTTP error answer as a Response, for the app to read', async () => {
    const browser = await loggedIn();
    app.emulator.failNext('currentuser', {
      status: 502,
      contentType: 'text/html',
      body: '<p>x</p>',
    });
    const answer = await browser.request(`${app.url}/app/raw`, api);
    expect(JSON.parse(answer.body)).toEqual({ status: 502, bytes: 8 });
  });

  it('R9: a 403 in the Argus envelope from an API call is an error for that call, not a logout', async () => {
    const browser = await loggedIn();
    app.emulator.failNext('currentuser', { status: 403 });
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_HTTP' });
    expect(app.errors[0]).toMatchObject({ code: 'ARGUS_HTTP', argusStatus: 403 });
    expect(logouts).toEqual([]);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
  });

  it.each(REJECTIONS)(
    'R9: a 401 from the API whose refresh is rejected (%s) logs the user out',
    async (_name, plan) => {
      const browser = await loggedIn();
      const sid = app.sessionId(browser) ?? '';
      app.emulator.failNext('currentuser', { status: 401 });
      app.emulator.failNext('token', plan);
      const answer = await browser.request(`${app.url}/app/argus`, api);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_SESSION_EXPIRED' });
      expect(logouts.map((l) => l.reason)).toEqual(['rejected']);
      expect(await app.storedSession(sid)).toBeUndefined();
    },
  );

  it.each(OUTAGES)(
    'R14: a 401 from the API whose refresh meets an outage (%s) is a typed error, and the session kept',
    async (_name, plan, code) => {
      const browser = await loggedIn();
      app.emulator.failNext('currentuser', { status: 401 });
      app.emulator.failNext('token', plan);
      const answer = await timed(() => browser.request(`${app.url}/app/argus`, api));
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(answer.body)).toEqual({ error: code });
      expect(logouts).toEqual([]);
      expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    },
  );
});
