/**
 * Hostile input at the login callback (security.md, "Hostile input the callback must
 * survive"): each gets a clear 4xx or the generic login-failed page, no crash, no unhandled
 * rejection, no stack trace, no echo, and no call to the token endpoint.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  callbackFor,
  collectUnhandledRejections,
  cookieHeader,
  type RawAnswer,
  rawRequest,
} from './helpers/hostile.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';
import { type CapturedWarning, captureWarnings, releaseWarnings } from './helpers/warnings.ts';

// Some callbacks here are sent without their login's session cookie on purpose: the one
// warning that causes is recorded instead of printed, and no other may appear.
let warnings: CapturedWarning[] = [];
beforeEach(() => {
  warnings = captureWarnings();
});
afterEach(() => {
  releaseWarnings();
  expect(warnings.filter((w) => w.code !== 'PASSPORT_ARGUS_COOKIE_LOST')).toEqual([]);
});

const rejections = collectUnhandledRejections();

/** What a hostile case needs: a browser halfway through a login, with a real code and state. */
interface Pending {
  app: TestApp;
  browser: Browser;
  code: string;
  state: string;
}

interface HostileCase {
  /** The raw query (without `?`). */
  query: (p: Pending) => string;
  /** The raw path; default the callback's. */
  path?: string;
  /** Replaces the browser's cookie. */
  cookie?: (p: Pending) => string;
  /** Runs before the request. */
  prepare?: (p: Pending) => Promise<void>;
}

const KB64 = 64 * 1024;
const html = '%3Cscript%3Ealert(1)%3C%2Fscript%3E';

const CASES: Record<string, HostileCase> = {
  'no parameters at all': { query: () => '' },
  'no parameters at all, with a trailing slash': { query: () => '', path: '/oauth/callback/' },
  'no parameters at all, in another letter case': { query: () => '', path: '/OAuth/Callback' },
  'code without state': { query: (p) => `code=${p.code}` },
  'state without code': { query: (p) => `state=${p.state}` },
  'an empty code=': { query: (p) => `code=&state=${p.state}` },
  'an empty state=': { query: (p) => `code=${p.code}&state=` },
  'code=a&code=b': { query: (p) => `code=${p.code}&code=b&state=${p.state}` },
  'state=x&state=x': { query: (p) => `code=${p.code}&state=${p.state}&state=${p.state}` },
  'code[]=x': { query: (p) => `code[]=${p.code}&state=${p.state}` },
  'code[a]=b': { query: (p) => `code[a]=${p.code}&state=${p.state}` },
  'state[]=': { query: (p) => `code=${p.code}&state[]=` },
  'state[]=<the state>': { query: (p) => `code=${p.code}&state[]=${p.state}` },
  '__proto__[x]=1': { query: (p) => `__proto__[x]=1&state=${p.state}` },
  'constructor[prototype][x]=1': { query: (p) => `constructor[prototype][x]=1&state=${p.state}` },
  'a 64 KB code': { query: (p) => `code=${'a'.repeat(KB64)}&state=${p.state}` },
  'a 64 KB state': { query: (p) => `code=${p.code}&state=${'A'.repeat(KB64)}` },
  'a 5 KB code (past the parameter cap, under the HTTP limit)': {
    query: (p) => `code=${p.code}${'a'.repeat(5000)}&state=${p.state}`,
  },
  'a 5 KB state': { query: (p) => `code=${p.code}&state=${p.state}${'A'.repeat(5000)}` },
  '%00 inside code': { query: (p) => `code=${p.code}%00&state=${p.state}` },
  '%00 inside state': { query: (p) => `code=${p.code}&state=${p.state}%00` },
  '%0d%0a inside code': { query: (p) => `code=${p.code}%0d%0aSet-Cookie:%20x=1&state=${p.state}` },
  '%0d%0a inside state': { query: (p) => `code=${p.code}&state=${p.state}%0d%0a` },
  '%E2%80%AE inside code': { query: (p) => `code=%E2%80%AE${p.code}&state=${p.state}` },
  '%E2%80%AE inside state': { query: (p) => `code=${p.code}&state=%E2%80%AE${p.state}` },
  '%ZZ inside code': { query: (p) => `code=${p.code}%ZZ&state=${p.state}` },
  '%ZZ inside state': { query: (p) => `code=${p.code}&state=${p.state}%ZZ` },
  'error=access_denied with an HTML error_description and a valid state': {
    query: (p) => `error=access_denied&error_description=${html}&state=${p.state}`,
  },
  'error=access_denied with raw <script> in error_description': {
    query: (p) =>
      `error=access_denied&error_description=<script>alert(1)</script>&state=${p.state}`,
  },
  'error=... with a missing state': {
    query: () => `error=access_denied&error_description=${html}`,
  },
  'error=... with a wrong state': {
    query: () => `error=access_denied&state=${'A'.repeat(43)}`,
  },
  'error with an HTML value of its own': { query: (p) => `error=${html}&state=${p.state}` },
  'code and error together': {
    query: (p) => `code=${p.code}&error=access_denied&state=${p.state}`,
  },
  'a forged session cookie': {
    query: (p) => `code=${p.code}&state=${p.state}`,
    cookie: () => 'connect.sid=s%3Aforged-session-id.bm90LWEtcmVhbC1zaWduYXR1cmU',
  },
  'an unsigned session cookie': {
    query: (p) => `code=${p.code}&state=${p.state}`,
    cookie: (p) => {
      const sid = p.app.sessionId(p.browser) ?? '';
      return `connect.sid=${sid}`;
    },
  },
  'an expired session cookie (its record is gone from the store)': {
    query: (p) => `code=${p.code}&state=${p.state}`,
    prepare: async (p) => {
      const sid = p.app.sessionId(p.browser) ?? '';
      await new Promise<void>((resolve) => p.app.store.destroy(sid, () => resolve()));
    },
  },
};

/** Anything in a page that a hostile input or a crash would put there. */
const LEAKY = [
  /<script/i,
  /alert\(1\)/,
  /\bat .+:\d+:\d+/, // a stack frame
  /Error\b/,
  /node_modules|passport-argus|\/lib\//,
];

function expectNoEcho(answer: RawAnswer, p: Pending): void {
  for (const pattern of LEAKY) expect(answer.body).not.toMatch(pattern);
  expect(answer.body).not.toContain(p.code);
  expect(answer.body).not.toContain(p.state);
  expect(JSON.stringify(answer.headers)).not.toContain(p.code);
  expect(String(answer.headers['set-cookie'] ?? '')).not.toMatch(/x=1/);
}

describe.each([
  ['with no failure page (a bare 4xx)', { successReturnToOrRedirect: '/' }, false],
  [
    'with a failure page (the generic login-failed page)',
    { successReturnToOrRedirect: '/', failureRedirect: '/login-failed' },
    true,
  ],
])('the login callback %s', (_name, callback, failurePage) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ callback });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    app.errors.length = 0;
  });
  afterEach(() => {
    expect(rejections).toEqual([]);
    expect(Object.prototype).not.toHaveProperty('x');
  });

  async function pending(): Promise<Pending> {
    const browser = new Browser();
    const url = await callbackFor(app, browser);
    app.emulator.clearRequests();
    return {
      app,
      browser,
      code: url.searchParams.get('code') ?? '',
      state: url.searchParams.get('state') ?? '',
    };
  }

  it('control: the genuine callback logs in, with exactly one token request', async () => {
    const p = await pending();
    const answer = await rawRequest(app.url, `/oauth/callback?code=${p.code}&state=${p.state}`, {
      headers: cookieHeader(p.browser, app.url),
    });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/');
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it.each(Object.entries(CASES))(
    'hostile callback: %s gets a clear refusal, no token request, nobody logged in',
    async (_case, hostile) => {
      const p = await pending();
      await hostile.prepare?.(p);
      const query = hostile.query(p);
      const path = `${hostile.path ?? '/oauth/callback'}${query === '' ? '' : `?${query}`}`;
      const headers = hostile.cookie
        ? { cookie: hostile.cookie(p) }
        : cookieHeader(p.browser, app.url);
      const answer = await rawRequest(app.url, path, {
        headers: { accept: 'text/html', ...headers },
      });

      if (failurePage && answer.status === 302) {
        expect(answer.headers.location).toBe('/login-failed');
        expect(answer.body).toBe('');
      } else {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
      }
      // Only Node's own 431 (request line too long) comes before the app's headers.
      if (answer.status !== 431) expect(answer.headers['cache-control']).toBe('no-store');
      expectNoEcho(answer, p);
      expect(app.emulator.requestsTo('token')).toEqual([]);
      // The callback never starts a new authorization.
      expect(app.emulator.requestsTo('authorize')).toEqual([]);
      expect(String(answer.headers.location ?? '')).not.toContain(app.emulator.portalURL);
      expect(app.errors).toEqual([]);
      const me = await p.browser.request(`${app.url}/app/me`, {
        headers: { accept: 'application/json' },
      });
      expect(me.status).toBe(401);
      // The app is still up.
      expect((await rawRequest(app.url, '/')).status).toBe(200);
    },
  );

  it('refuses a login whose loginTimeout passed, with no token request', async () => {
    useMovableTime();
    try {
      const p = await pending();
      advance(600_001);
      const answer = await rawRequest(app.url, `/oauth/callback?code=${p.code}&state=${p.state}`, {
        headers: cookieHeader(p.browser, app.url),
      });
      expect(answer.status).toBe(failurePage ? 302 : 400);
      expect(app.emulator.requestsTo('token')).toEqual([]);
    } finally {
      restoreTime();
    }
  });
});
