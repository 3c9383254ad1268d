import type { ErrorRequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser, inputValue } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

/** Starts a login and returns the callback URL Argus redirects back to, without following it. */
async function callbackFor(browser: Browser, user = 'alice'): Promise<string> {
  const form = await browser.follow(`${app.url}/login`);
  if (!form.url.includes('/spa/login')) {
    // Already logged in to the portal: the authorize answer is the redirect itself.
    return form.url;
  }
  const posted = await browser.request(`${app.emulator.portalURL}/spa/login`, {
    form: {
      username: user,
      password: `${user}-password`,
      return: inputValue(form.body, 'return') ?? '',
    },
  });
  const authorize = await browser.request(
    new URL(posted.headers.get('location') ?? '', posted.url).href,
  );
  const location = authorize.headers.get('location') ?? '';
  expect(location.startsWith(app.callbackURL)).toBe(true);
  return location;
}

/** Starts a login and stops at the callback (the portal session is kept in the browser). */
async function pendingCallback(browser: Browser): Promise<string> {
  const start = await browser.request(`${app.url}/login`);
  const authorize = await browser.request(start.headers.get('location') ?? '');
  const location = authorize.headers.get('location') ?? '';
  if (location.startsWith(app.callbackURL)) return location;
  throw new Error('the browser is not logged in to the portal');
}

const strict = { callback: { successReturnToOrRedirect: '/' } };

/** Answers 500 to every error that reaches `app`'s error handler, and keeps them. */
function answerErrors(app: { use(handler: ErrorRequestHandler): unknown }) {
  const errors: { code?: string; message?: string }[] = [];
  app.use((error, _req, res, _next) => {
    errors.push(error);
    res.status(500).end();
  });
  return errors;
}

describe('the login callback', () => {
  it('answers the callback with a body-less, uncacheable, referrer-free redirect', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const callback = await callbackFor(browser);
    const answer = await browser.request(callback);
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('/');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('fails a replayed callback because the state was consumed, with no second token call', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = await callbackFor(browser);
    expect((await browser.request(callback)).status).toBe(302);
    const tokenCalls = app.emulator.requestsTo('token').length;
    const replay = await browser.request(callback);
    expect(replay.status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(tokenCalls);
  });

  it('refuses a wrong state with 400 and never calls the token endpoint', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = new URL(await callbackFor(browser));
    callback.searchParams.set('state', 'A'.repeat(43));
    const answer = await browser.request(callback.href);
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('Bad Request');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('refuses a callback carried to another browser session (login CSRF)', async () => {
    app = await startTestApp(strict);
    const attacker = new Browser();
    const callback = await callbackFor(attacker, 'bob');
    const victim = new Browser();
    await victim.request(`${app.url}/login`);
    const answer = await victim.request(callback);
    expect(answer.status).toBe(400);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    expect(app.sessionId(victim)).toBeDefined();
  });

  it('lets two tabs of one browser log in at once, callbacks in either order', async () => {
    app = await startTestApp();
    const browser = new Browser();
    await app.login(browser);
    const first = await pendingCallback(browser);
    const second = await pendingCallback(browser);
    const b = await browser.follow(second);
    expect(b.body).toBe('home of alice');
    const a = await browser.follow(first);
    expect(a.body).toBe('home of alice');
    expect(a.url).toBe(`${app.url}/`);
    // Each transaction worked once: replaying either now fails.
    expect((await browser.follow(first)).url).toBe(`${app.url}/login-failed`);
  });

  it('fails access_denied with a generic page that never shows the description', async () => {
    app = await startTestApp({
      ...strict,
      permittedUsers: ['alice'],
      emulator: { deniedUser: 'redirect' },
    });
    const browser = new Browser();
    const callback = new URL(await callbackFor(browser, 'bob'));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    callback.searchParams.set('error_description', '<script>alert(1)</script>');
    const answer = await browser.request(callback.href);
    expect(answer.status).toBe(403);
    expect(answer.body).not.toContain('<script>');
    expect(answer.body).not.toContain('alert(1)');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('sends a failed login to failureRedirect', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const callback = new URL(await callbackFor(browser));
    callback.searchParams.set('code', 'not-the-code');
    const answer = await browser.follow(callback.href);
    expect(answer.url).toBe(`${app.url}/login-failed`);
    expect(answer.body).toBe('login failed');
  });

  it('refuses a code Argus does not accept as a failed login, not a server error', async () => {
    app = await startTestApp(strict);
    const browser = new Browser();
    const callback = new URL(await callbackFor(browser));
    callback.searchParams.set('code', '00000000-0000-4000-8000-000000000000');
    const answer = await browser.request(callback.href);
    expect(answer.status).toBe(401);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('answers 503 with Retry-After and a typed error when Argus does not answer the code exchange in time', async () => {
    app = await startTestApp({ ...strict, strategy: { timeout: 300 } });
    const browser = new Browser();
    const callback = await callbackFor(browser);
    app.emulator.failNext('token', { hang: true });
    const started = Date.now();
    const answer = await browser.request(callback);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(app.errors).toHaveLength(1);
  });

  it('answers 502 (not Argus’s 400) when Argus refuses our client credentials', async () => {
    app = await startTestApp({ ...strict, strategy: { clientSecret: 'wrong' } });
    const browser = new Browser();
    const answer = await browser.request(await callbackFor(browser));
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_CLIENT_REJECTED' });
  });

  it('tells the developer to mount the login after the session middleware when there is no session', async () => {
    const { default: express } = await import('express');
    const { Passport } = await import('passport');
    const { ArgusStrategy } = await import('passport-argus');
    const bare = express();
    const passport = new Passport();
    passport.use(
      new ArgusStrategy({
        clientID: 'x',
        clientSecret: 'y',
        callbackURL: 'http://localhost/cb',
        name: 'bare',
      }),
    );
    bare.get('/login', passport.authenticate('bare'));
    const errors = answerErrors(bare);
    const { default: request } = await import('supertest');
    await request(bare).get('/login').expect(500);
    expect(errors[0]?.message).toMatch(/after the session middleware \(express-session/);
    expect(errors[0]?.code).toBe('ARGUS_SESSION_REQUIRED');
  });

  it('tells the developer to mount requireArgus() after session() when it comes first', async () => {
    const { default: express } = await import('express');
    const { default: session } = await import('express-session');
    const { requireArgus } = await import('passport-argus');
    const early = express();
    early.use('/app', requireArgus({ strategy: 'bare' }));
    early.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    const errors = answerErrors(early);
    const { default: request } = await import('supertest');
    await request(early).get('/app/me').expect(500);
    expect(errors[0]?.message).toMatch(
      /mount requireArgus\(\) and the login routes after the session/,
    );
    expect(errors[0]?.message).toMatch(/passport\.session\(\)/);
  });

  it('refuses cookie-session at the first login, saying why and what to use instead', async () => {
    const { default: express } = await import('express');
    const { default: cookieSession } = await import('cookie-session');
    const { Passport } = await import('passport');
    const { ArgusStrategy, requireArgus } = await import('passport-argus');
    const app = express();
    const passport = new Passport();
    const strategy = new ArgusStrategy({
      clientID: 'x',
      clientSecret: 'y',
      callbackURL: 'http://localhost/cb',
      name: 'cookie-only',
    });
    passport.use(strategy);
    app.use(cookieSession({ name: 'session', keys: ['k'] }));
    app.use(passport.session());
    app.get('/login', passport.authenticate('cookie-only'));
    app.use('/app', requireArgus({ strategy }));
    app.get('/app/me', (_req, res) => {
      res.end('never');
    });
    const errors = answerErrors(app);
    const { default: request } = await import('supertest');
    const login = await request(app).get('/login');
    expect(login.status).toBe(500);
    expect(login.headers.location).toBeUndefined();
    await request(app).get('/app/me').expect(500);
    expect(errors.map((e) => e.code)).toEqual(['ARGUS_MISCONFIGURED', 'ARGUS_MISCONFIGURED']);
    expect(errors[0]?.message).toMatch(
      /cookie-session\?\), which would send the Argus token set to the browser/,
    );
    expect(errors[0]?.message).toMatch(/Use express-session/);
  });
});
