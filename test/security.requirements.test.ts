/**
 * The requirements of security.md, one block per line of its table. Hostile callbacks,
 * hostile Argus answers, the leak scan and the configuration checks have files of their
 * own (security.callback, security.argus-answers, security.leaks, security.config).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeReturnTo } from 'passport-argus';
import { Browser } from './helpers/browser.ts';
import { CLIENT_ID, CLIENT_SECRET, startTestApp, type TestApp } from './helpers/app.ts';
import { callbackFor, cookieHeader, pathOf, rawRequest, startLogin } from './helpers/hostile.ts';
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

let app: TestApp;
afterEach(async () => {
  restoreTime();
  await app?.close();
});

const strict = { callback: { successReturnToOrRedirect: '/' } };
const api = { headers: { accept: 'application/json' } };

async function isLoggedIn(browser: Browser): Promise<boolean> {
  return (await browser.request(`${app.url}/app/me`, api)).status === 200;
}

async function stored(browser: Browser) {
  return app.storedSession(app.sessionId(browser) ?? '');
}

describe('R1: state is one-time, unguessable, bound to the browser session', () => {
  it('R1: every login gets its own 256-bit state (43 base64url characters)', async () => {
    app = await startTestApp();
    const states = new Set<string>();
    for (let i = 0; i < 20; i++) states.add(await startLogin(app, new Browser()));
    expect(states.size).toBe(20);
    for (const state of states) expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('R1: a wrong state gets 400 and zero token requests', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    callback.searchParams.set('state', 'B'.repeat(43));
    expect((await browser.request(callback.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('R1: a missing state gets 400 and zero token requests', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    callback.searchParams.delete('state');
    expect((await browser.request(callback.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('R1: a callback carried to another browser session (login CSRF) gets 400 and zero token requests', async () => {
    app = await startTestApp(strict);
    const attacker = new Browser();
    const callback = await callbackFor(app, attacker, 'bob');
    const victim = new Browser();
    await startLogin(app, victim);
    expect((await victim.request(callback.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect(await isLoggedIn(victim)).toBe(false);
  });

  it('R1: a replayed callback gets 400 and no second token request', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    expect((await browser.request(callback.href)).status).toBe(302);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect((await browser.request(callback.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('R1: the state is consumed before anything else is checked: a first use that fails spends it', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    const broken = new URL(callback.href);
    broken.searchParams.set('code', '');
    expect((await browser.request(broken.href)).status).toBe(400);
    // The genuine callback, after a failed first use of its state, is refused.
    expect((await browser.request(callback.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});

describe('R2: PKCE S256 by default, verifier kept on the server', () => {
  it('R2: the challenge in the authorize redirect is base64url(sha256(verifier)) of the verifier in the token request', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const start = await browser.request(`${app.url}/login`);
    const authorize = new URL(start.headers.get('location') ?? '').searchParams;
    expect(authorize.get('code_challenge_method')).toBe('S256');
    await app.login(browser);
    const token = app.emulator.requestsTo('token').at(-1);
    const verifier = token?.form?.code_verifier?.[0] ?? '';
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    const sent = new URLSearchParams(app.emulator.requestsTo('authorize').at(-1)?.query);
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(
      sent.get('code_challenge'),
    );
  });

  it('R2: the verifier stays on the server: in the session record, never in a URL, cookie or page', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    const logins = (await stored(browser))?.argusLogins as { verifier: string }[];
    const [verifier] = logins.map((login) => login.verifier);
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await browser.follow(callback.href);
    expect(await isLoggedIn(browser)).toBe(true);
    expect(app.emulator.requestsTo('token').at(-1)?.form?.code_verifier).toEqual([verifier]);
    const everything = JSON.stringify([
      browser.seen.map((s) => [s.url, s.body, [...s.headers]]),
      [...browser.jar.values()].map((jar) => [...jar]),
    ]);
    expect(everything).not.toContain(verifier);
    for (const request of app.emulator.requests) {
      expect(request.query).not.toContain(verifier ?? '');
    }
  });

  it('R2: a code obtained in browser A, injected into browser B’s callback with B’s own state, is refused by the PKCE check', async () => {
    app = await startTestApp(strict);
    const a = new Browser();
    const stolen = (await callbackFor(app, a)).searchParams.get('code') ?? '';
    const b = new Browser();
    const bState = await startLogin(app, b);
    const answer = await b.request(`${app.callbackURL}?code=${stolen}&state=${bState}`);
    expect(answer.status).toBe(401);
    // The code reached Argus with B's verifier, and Argus said no.
    const token = app.emulator.requestsTo('token');
    expect(token).toHaveLength(1);
    expect(token[0]?.form?.code).toEqual([stolen]);
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(0);
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('R2: PKCE is what stops that injection: with pkce: false the same code would log B in', async () => {
    app = await startTestApp({ ...strict, strategy: { pkce: false } });
    const a = new Browser();
    const stolen = (await callbackFor(app, a)).searchParams.get('code') ?? '';
    const b = new Browser();
    const bState = await startLogin(app, b);
    const answer = await b.request(`${app.callbackURL}?code=${stolen}&state=${bState}`);
    expect(answer.status).toBe(302);
    expect(await isLoggedIn(b)).toBe(true);
  });
});

describe('R3: several login tabs at once', () => {
  it('R3: two /login in one session, callbacks in either order, each lands logged in, one exchange', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const first = await callbackFor(app, browser);
    const second = await callbackFor(app, browser);
    expect((await browser.request(second.href)).status).toBe(302);
    // The later callback lands logged in without an exchange: its login did not carry
    // over into the logged-in session, only its landing page did.
    expect((await browser.request(first.href)).status).toBe(302);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(await isLoggedIn(browser)).toBe(true);
    expect((await browser.request(first.href)).status).toBe(400);
    expect((await browser.request(second.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('R3: logins are bounded in number: past maxPendingLogins the oldest is refused', async () => {
    app = await startTestApp({ ...strict, strategy: { maxPendingLogins: 2 } });
    const browser = new Browser();
    const one = await callbackFor(app, browser);
    const two = await callbackFor(app, browser);
    const three = await callbackFor(app, browser);
    expect((await browser.request(one.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect((await browser.request(three.href)).status).toBe(302);
    expect((await browser.request(two.href)).status).toBe(302);
    const logins = (await stored(browser))?.argusLogins;
    expect(logins).toBeUndefined();
  });

  it('R3: logins are bounded in age: a callback after loginTimeout is refused', async () => {
    useMovableTime();
    app = await startTestApp({ ...strict, strategy: { loginTimeout: 60_000 } });
    const browser = new Browser();
    const late = await callbackFor(app, browser);
    advance(30_000);
    const inTime = await callbackFor(app, browser);
    advance(30_001);
    expect((await browser.request(late.href)).status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect((await browser.request(inTime.href)).status).toBe(302);
  });
});

describe('R4: one redirect_uri, whatever the request headers say', () => {
  const spoofed = {
    host: 'evil.example',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '8443',
    forwarded: 'host=evil.example;proto=https',
  };

  it('R4: spoofed Host and X-Forwarded-* headers do not change the authorize redirect_uri', async () => {
    // trust proxy true is the worst case: Express then believes X-Forwarded-Host.
    app = await startTestApp({ trustProxy: true });
    const answer = await rawRequest(app.url, '/login', { headers: spoofed });
    expect(answer.status).toBe(302);
    const target = new URL(String(answer.headers.location));
    expect(target.searchParams.get('redirect_uri')).toBe(app.callbackURL);
  });

  it('R4: spoofed headers at the callback do not change the token request’s redirect_uri', async () => {
    app = await startTestApp({ ...strict, trustProxy: true });
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    const answer = await rawRequest(app.url, pathOf(callback), {
      headers: { ...spoofed, ...cookieHeader(browser, app.url) },
    });
    expect(answer.status).toBe(302);
    const token = app.emulator.requestsTo('token');
    expect(token).toHaveLength(1);
    expect(token[0]?.form?.redirect_uri).toEqual([app.callbackURL]);
    expect(
      new URLSearchParams(app.emulator.requestsTo('authorize')[0]?.query).get('redirect_uri'),
    ).toBe(app.callbackURL);
  });
});

describe('R5: a new session id at login and at logout', () => {
  it('R5: the session id changes at login and the old id no longer resolves in the store', async () => {
    app = await startTestApp();
    const browser = new Browser();
    await startLogin(app, browser);
    const before = app.sessionId(browser) ?? '';
    expect(await app.storedSession(before)).toBeDefined();
    await app.login(browser);
    const after = app.sessionId(browser) ?? '';
    expect(after).not.toBe(before);
    expect(await app.storedSession(before)).toBeUndefined();
    expect((await app.storedSession(after))?.argus).toBeDefined();
  });

  it('R5: the session id changes at logout and the old id no longer resolves in the store', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    const before = app.sessionId(browser) ?? '';
    const answer = await browser.request(`${app.url}/logout`, { method: 'POST' });
    expect(answer.status).toBe(303);
    expect(await app.storedSession(before)).toBeUndefined();
    expect(app.sessionId(browser)).not.toBe(before);
  });

  it('R5: a session id planted before login gives its planter nothing after the victim logs in', async () => {
    app = await startTestApp();
    const attacker = new Browser();
    await startLogin(app, attacker);
    const planted = attacker.cookie(app.url, 'connect.sid') ?? '';
    const victim = new Browser();
    victim.cookies(app.url).set('connect.sid', planted);
    await app.login(victim);
    expect(victim.cookie(app.url, 'connect.sid')).not.toBe(planted);
    expect(await isLoggedIn(victim)).toBe(true);
    expect(await isLoggedIn(attacker)).toBe(false);
  });

  it('R5: a logout forced by Argus’s rejection also drops the old id from the store', async () => {
    useMovableTime();
    app = await startTestApp();
    const { browser } = await app.login();
    const before = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    advance(400_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
    expect(await app.storedSession(before)).toBeUndefined();
  });
});

/** security.md's list and more of the same family. */
const HOSTILE_RETURN_TO = [
  '//evil.example',
  '///evil.example',
  'https://evil.example',
  'http://app@evil.example',
  'javascript:alert(1)',
  '/%2F%2Fevil.example',
  '/\\evil.example',
  '/%5Cevil.example',
  '/%5C%5Cevil.example',
  '/%252F%252Fevil.example',
  '/.//evil.example',
  '/./%2F/evil.example',
  '/%2e//evil.example',
  '/a/..//evil.example',
  '/%2E%2E//evil.example',
  '/\t/evil.example',
  '/%09/evil.example',
  '/%0d%0aLocation:%20http://evil.example',
  '\\\\evil.example',
  'https:evil.example',
  ' //evil.example',
  '//evil.example/%2F..',
  '/@evil.example',
];

describe('R6: no open redirect after login', () => {
  it.each(HOSTILE_RETURN_TO)('R6: a returnTo of %j lands the user on this site', async (value) => {
    app = await startTestApp({
      routes: (express) => {
        // An app that remembers where to go from a query parameter, as many do.
        express.get('/remember', (req, res) => {
          (req.session as unknown as Record<string, unknown>).returnTo = req.query.to;
          res.end();
        });
      },
    });
    const browser = new Browser();
    await browser.request(`${app.url}/remember?to=${encodeURIComponent(value)}`);
    const callback = await callbackFor(app, browser);
    const answer = await browser.request(callback.href);
    expect(answer.status).toBe(302);
    const location = answer.headers.get('location') ?? '';
    expect(location).toMatch(/^\/(?![/\\])/);
    expect(new URL(location, app.url).origin).toBe(app.url);
    expect(decodeURIComponent(location)).not.toMatch(/^[/\\]{2}/);
  });

  it('R6: raw request paths of the same family, through a guard on the whole site, never leave it', async () => {
    app = await startTestApp({
      routes: (express, strategy) => {
        express.use(async (req, res, next) => {
          if (['/', '/login', '/oauth/callback', '/login-failed', '/logout'].includes(req.path)) {
            return next();
          }
          const { requireArgus } = await import('passport-argus');
          return requireArgus({ strategy })(req, res, next);
        });
      },
    });
    for (const path of [
      '//evil.example',
      '/.//evil.example',
      '/%2e//evil.example',
      '/\\evil.example',
    ]) {
      const answer = await rawRequest(app.url, path, { headers: { accept: 'text/html' } });
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe('/login');
      const browser = new Browser();
      const cookie = answer.headers['set-cookie']?.[0]?.split(';')[0];
      if (cookie !== undefined) {
        const [name, value] = cookie.split('=');
        browser.cookies(app.url).set(name ?? '', value ?? '');
      }
      const landing = await browser.request((await callbackFor(app, browser)).href);
      const location = landing.headers.get('location') ?? '';
      expect(new URL(location, app.url).origin).toBe(app.url);
      expect(location.startsWith('//')).toBe(false);
    }
  });

  it('R6: safeReturnTo never returns a path that a browser would take off the site (generated family)', () => {
    const parts = ['/', '\\', '.', '..', '%2e', '%2F', '%5C', '%09', '@', 'evil.example', ':'];
    const values: string[] = [];
    const grow = (prefix: string, depth: number) => {
      values.push(prefix);
      if (depth === 0) return;
      for (const part of parts) grow(prefix + part, depth - 1);
    };
    for (const part of parts) grow(`/${part}`, 3);
    let kept = 0;
    for (const value of values) {
      const safe = safeReturnTo(value);
      if (safe === undefined) continue;
      kept++;
      for (const base of ['https://app.example/', 'https://app.example/a/b/c']) {
        expect(new URL(safe, base).origin, `${value} -> ${safe}`).toBe('https://app.example');
      }
      expect(safe, value).toMatch(/^\/(?![/\\])/);
      expect(decodeURIComponent(safe), value).not.toMatch(/^[/\\]{2}/);
      // What comes out is itself safe and stable.
      expect(safeReturnTo(safe), value).toBe(safe);
    }
    expect(values.length).toBeGreaterThan(10_000);
    expect(kept).toBeGreaterThan(100);
  });
});

describe('R7: the callback answers with a body-less, uncacheable, referrer-free redirect', () => {
  it('R7: the success redirect has no body, Cache-Control: no-store and Referrer-Policy: no-referrer', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    const answer = await rawRequest(app.url, pathOf(callback), {
      headers: { accept: 'text/html', ...cookieHeader(browser, app.url) },
    });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/');
    expect(answer.headers['content-length']).toBe('0');
    expect(answer.body).toBe('');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });

  it('R7: the failure redirect has no body and the same headers', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    callback.searchParams.set('state', 'C'.repeat(43));
    const answer = await rawRequest(app.url, pathOf(callback), {
      headers: { accept: 'text/html', ...cookieHeader(browser, app.url) },
    });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/login-failed');
    expect(answer.body).toBe('');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });

  it('R7: the redirect to Argus is body-less, uncacheable and referrer-free too', async () => {
    app = await startTestApp();
    const answer = await rawRequest(app.url, '/login', { headers: { accept: 'text/html' } });
    expect(answer.status).toBe(302);
    expect(answer.body).toBe('');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('R8: tokens only in the server-side session', () => {
  it('R8: the tokens are in the session record, not in req.user, a cookie, a URL or a page', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    const me = await browser.request(`${app.url}/app/me`, api);
    const record = await stored(browser);
    const { accessToken, refreshToken } = (record?.argus ?? {}) as {
      accessToken: string;
      refreshToken: string;
    };
    expect(accessToken).toMatch(/^alice\//);
    expect(refreshToken).toBeTruthy();
    const user = JSON.stringify((record as { passport: { user: unknown } }).passport.user);
    const secrets = [accessToken, refreshToken, encodeURIComponent(accessToken)];
    for (const secret of secrets) {
      expect(user).not.toContain(secret);
      expect(me.body).not.toContain(secret);
      expect(JSON.stringify([...browser.jar.values()].map((jar) => [...jar]))).not.toContain(
        secret,
      );
      for (const seen of browser.seen) {
        expect(seen.url).not.toContain(secret);
        expect(seen.body).not.toContain(secret);
        expect(JSON.stringify([...seen.headers])).not.toContain(secret);
      }
    }
    // Nothing secret travels in a URL query to Argus either.
    for (const request of app.emulator.requests) {
      for (const secret of [...secrets, CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET)]) {
        expect(request.query).not.toContain(secret);
      }
    }
  });
});

describe('R9: strict token answer', () => {
  it('R9: a well-formed answer is accepted: Bearer in any case, expires_in absent (300 s assumed)', async () => {
    app = await startTestApp({ strategy: { profile: false } });
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    app.emulator.failNext('token', {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ access_token: 'alice/opaque', token_type: 'bEARER' }),
    });
    expect((await browser.request(callback.href)).status).toBe(302);
    expect(await isLoggedIn(browser)).toBe(true);
  });
  // Every bad answer is in security.argus-answers.test.ts, named "R9: ...".
});

describe('R10: refresh token replacement', () => {
  async function refreshOnce(browser: Browser) {
    advance(250_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
  }

  it('R10: a new refresh token from Argus replaces the old one in the session', async () => {
    useMovableTime();
    app = await startTestApp({ emulator: { rotateRefreshTokens: true } });
    const { browser } = await app.login();
    const first = (await stored(browser))?.argus as { refreshToken: string };
    await refreshOnce(browser);
    const second = (await stored(browser))?.argus as { refreshToken: string };
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await refreshOnce(browser);
    // The next refresh spent the new one, which Argus (with reuse detection) accepted.
    const refreshes = app.emulator.requestsTo('token').filter((r) => r.form?.refresh_token);
    expect(refreshes.map((r) => r.form?.refresh_token?.[0])).toEqual([
      first.refreshToken,
      second.refreshToken,
    ]);
    expect(await isLoggedIn(browser)).toBe(true);
  });

  it('R10: an answer without a refresh token keeps the old one', async () => {
    useMovableTime();
    app = await startTestApp({ emulator: { rotateRefreshTokens: false } });
    const { browser } = await app.login();
    const first = (await stored(browser))?.argus as { refreshToken: string; accessToken: string };
    await refreshOnce(browser);
    const second = (await stored(browser))?.argus as { refreshToken: string; accessToken: string };
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBe(first.refreshToken);
  });
});

describe('R11: client authentication', () => {
  it('R11: HTTP Basic works with a secret of ": % + space" and non-ASCII letters, form-encoded before base64', async () => {
    useMovableTime();
    expect(CLIENT_SECRET).toMatch(/:/);
    expect(CLIENT_SECRET).toMatch(/%/);
    expect(CLIENT_SECRET).toMatch(/\+/);
    expect(CLIENT_SECRET).toMatch(/ /);
    expect(CLIENT_SECRET).toMatch(/é/);
    app = await startTestApp({ strategy: { clientAuthentication: 'client_secret_basic' } });
    const { browser } = await app.login();
    await refreshAndCall(browser);
    const token = app.emulator.requestsTo('token');
    expect(token).toHaveLength(2);
    for (const request of token) {
      const basic = String(request.headers.authorization);
      const decoded = Buffer.from(basic.replace(/^Basic /, ''), 'base64').toString('utf8');
      expect(decoded).toBe(`${encodeForm(CLIENT_ID)}:${encodeForm(CLIENT_SECRET)}`);
    }
  });

  it.each(['client_secret_post', 'client_secret_basic'] as const)(
    'R11: one client authentication method per request (%s), at the exchange and at the refresh',
    async (method) => {
      useMovableTime();
      app = await startTestApp({ strategy: { clientAuthentication: method } });
      const { browser } = await app.login();
      await refreshAndCall(browser);
      const token = app.emulator.requestsTo('token');
      expect(token.map((r) => r.form?.grant_type?.[0])).toEqual([
        'authorization_code',
        'refresh_token',
      ]);
      for (const request of token) {
        const inBody = request.form?.client_secret !== undefined;
        const inHeader = request.headers.authorization !== undefined;
        expect(inBody).toBe(method === 'client_secret_post');
        expect(inHeader).toBe(method === 'client_secret_basic');
      }
    },
  );

  function encodeForm(value: string): string {
    return new URLSearchParams([['v', value]]).toString().slice(2);
  }

  async function refreshAndCall(browser: Browser) {
    advance(250_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
  }
});

describe('R13: callback errors are never rendered', () => {
  it('R13: HTML in error_description and error_uri never reaches the page, even one that prints passport’s messages', async () => {
    app = await startTestApp({
      callback: { failureRedirect: '/failed', failureMessage: true },
      routes: (express) => {
        // A careless failure page that prints passport's messages unescaped.
        express.get('/failed', (req, res) => {
          const messages = (req.session as unknown as { messages?: string[] }).messages ?? [];
          res.type('html').send(`<p>${messages.join('<br>')}</p>`);
        });
      },
    });
    const browser = new Browser();
    const state = await startLogin(app, browser);
    const description = encodeURIComponent(
      '<script>alert(1)</script><a href="https://evil.example">',
    );
    const uri = encodeURIComponent('https://evil.example/help');
    const page = await browser.follow(
      `${app.callbackURL}?error=access_denied&error_description=${description}&error_uri=${uri}&state=${state}`,
    );
    expect(page.url).toBe(`${app.url}/failed`);
    expect(page.body).not.toContain('<script');
    expect(page.body).not.toContain('alert(1)');
    expect(page.body).not.toContain('evil.example');
    expect(page.body).not.toContain('<a ');
    expect(page.body).toContain('The Argus login did not complete');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});
