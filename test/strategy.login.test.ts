import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.ts';
import { CLIENT_ID, CLIENT_SECRET, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

describe('login with Argus', () => {
  it('logs a user in through the Argus login form and lands on the home page', async () => {
    app = await startTestApp();
    const { browser, landing } = await app.login();
    expect(landing.status).toBe(200);
    expect(landing.url).toBe(`${app.url}/`);
    expect(landing.body).toBe('home of alice');
    const me = await browser.request(`${app.url}/app/me`, {
      headers: { accept: 'application/json' },
    });
    expect(me.status).toBe(200);
    const body = JSON.parse(me.body);
    expect(body.user).toMatchObject({
      provider: 'argus',
      username: 'alice',
      displayName: 'Alice Anderson',
    });
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 290_000);
  });

  it('sends the authorize request with client, redirect URI, state and an S256 challenge', async () => {
    app = await startTestApp({ strategy: { scope: ['openid', 'profile'] } });
    const browser = new Browser();
    const start = await browser.request(`${app.url}/login`);
    expect(start.status).toBe(302);
    expect(start.headers.get('cache-control')).toBe('no-store');
    const target = new URL(start.headers.get('location') ?? '');
    expect(target.origin + target.pathname).toBe(`${app.emulator.portalURL}/spa/oauth/authorize`);
    const q = target.searchParams;
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(app.callbackURL);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('scope')).toBe('openid profile');
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('writes the authorize query in one order: the app’s parameters, then its own in place', async () => {
    app = await startTestApp({ strategy: { scope: ['openid', 'profile'] } });
    // An app's parameter that names one of the strategy's keeps its place and takes its value.
    app.strategy.authorizationParams = () => ({ prompt: 'login', ui_locales: 'nb en', state: 'x' });
    const start = await new Browser().request(`${app.url}/login`);
    const location = start.headers.get('location') ?? '';
    const q = new URL(location).searchParams;
    const expected = new URLSearchParams([
      ['prompt', 'login'],
      ['ui_locales', 'nb en'],
      ['state', q.get('state') ?? ''],
      ['client_id', CLIENT_ID],
      ['redirect_uri', app.callbackURL],
      ['response_type', 'code'],
      ['scope', 'openid profile'],
      ['code_challenge', q.get('code_challenge') ?? ''],
      ['code_challenge_method', 'S256'],
    ]);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location).toBe(`${app.emulator.portalURL}/spa/oauth/authorize?${expected}`);
  });

  it('proves PKCE: the token request carries the verifier whose hash was the challenge', async () => {
    app = await startTestApp();
    await app.login();
    const authorize = app.emulator.requestsTo('authorize').at(-1);
    const challenge = new URLSearchParams(authorize?.query).get('code_challenge');
    const token = app.emulator.requestsTo('token').at(-1);
    const verifier = token?.form?.code_verifier?.[0] ?? '';
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(challenge);
  });

  it('omits PKCE when turned off', async () => {
    app = await startTestApp({ strategy: { pkce: false } });
    const { landing } = await app.login();
    expect(landing.body).toBe('home of alice');
    const authorize = new URLSearchParams(app.emulator.requestsTo('authorize').at(-1)?.query);
    expect(authorize.has('code_challenge')).toBe(false);
    expect(app.emulator.requestsTo('token').at(-1)?.form?.code_verifier).toBeUndefined();
  });

  it('posts the code exchange as a form with the client credentials in the body by default', async () => {
    app = await startTestApp();
    await app.login();
    const token = app.emulator.requestsTo('token').at(-1);
    expect(token?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(token?.headers.authorization).toBeUndefined();
    expect(token?.form).toMatchObject({
      grant_type: ['authorization_code'],
      client_id: [CLIENT_ID],
      client_secret: [CLIENT_SECRET],
      redirect_uri: [app.callbackURL],
    });
    expect(token?.form?.code?.[0]).toMatch(/\S/);
  });

  it('authenticates with HTTP Basic when asked, form-encoding a secret with ": % + space é"', async () => {
    app = await startTestApp({ strategy: { clientAuthentication: 'client_secret_basic' } });
    const { landing } = await app.login();
    expect(landing.body).toBe('home of alice');
    const token = app.emulator.requestsTo('token').at(-1);
    expect(token?.form?.client_secret).toBeUndefined();
    expect(token?.form?.client_id).toBeUndefined();
    const basic = String(token?.headers.authorization);
    expect(basic).toMatch(/^Basic /);
    const decoded = Buffer.from(basic.slice(6), 'base64').toString();
    expect(decoded).toBe(`${CLIENT_ID}:test+client+secret%3A+%25%2B+%C3%A9`);
  });

  it('reads the profile from /currentuser/v1/user with the bearer token and the user IP', async () => {
    app = await startTestApp();
    await app.login();
    const call = app.emulator.requestsTo('currentuser').at(-1);
    expect(call?.headers.authorization).toMatch(/^Bearer alice\//);
    expect(call?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('reads the profile from userinfo when asked, with customer and e-mail claims', async () => {
    app = await startTestApp({
      strategy: { profile: 'userinfo', scope: 'openid profile customer email' },
    });
    const { browser } = await app.login();
    const me = JSON.parse(
      (await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } }))
        .body,
    );
    expect(me.user.username).toBe('alice');
    expect(me.user.emails?.[0]?.value).toMatch(/@/);
    expect(me.user.customer?.id).toBeDefined();
    expect(app.emulator.requestsTo('userinfo').at(-1)?.headers['x-forwarded-for']).toBe(
      '127.0.0.1',
    );
  });

  it('keeps every token out of req.user, the cookie and every page', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    const sid = app.sessionId(browser) ?? '';
    const stored = await app.storedSession(sid);
    const tokens = stored?.argus as { accessToken: string; refreshToken: string };
    expect(tokens.accessToken).toMatch(/^alice\//);
    expect(JSON.stringify((stored as { passport: { user: unknown } }).passport.user)).not.toContain(
      tokens.accessToken,
    );
    const appAnswers = browser.seen.filter((s) => s.url.startsWith(app.url));
    for (const seen of appAnswers) {
      const everything = seen.body + JSON.stringify([...seen.headers]);
      expect(everything).not.toContain(tokens.accessToken);
      expect(everything).not.toContain(tokens.refreshToken);
    }
  });

  it('lets a user already logged in to the portal through without the form', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    await browser.request(`${app.url}/logout`, { method: 'POST' });
    const again = await browser.follow(`${app.url}/login`);
    expect(again.url).toBe(`${app.url}/`);
    expect(again.body).toBe('home of alice');
  });

  it('supports a verify function that maps the profile to an app user', async () => {
    app = await startTestApp({
      verify: (tokens, profile, done) => {
        expect(tokens.accessToken).toMatch(/^alice\//);
        done(null, { id: `app-${profile?.id}`, username: profile?.username } as Express.User);
      },
    });
    const { browser } = await app.login();
    const me = JSON.parse(
      (await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } }))
        .body,
    );
    expect(me.user.id).toMatch(/^app-/);
  });

  it('supports an async verify that refuses a user', async () => {
    app = await startTestApp({ verify: async () => false });
    const { landing } = await app.login();
    expect(landing.url).toBe(`${app.url}/login-failed`);
    expect(landing.status).toBe(401);
  });

  it('refuses a user the client does not permit, without a code', async () => {
    app = await startTestApp({ permittedUsers: ['alice'] });
    const { landing } = await app.login(undefined, 'bob');
    expect(landing.status).toBe(403);
    expect(landing.url.startsWith(app.emulator.portalURL)).toBe(true);
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});
