import type { Request } from 'express';
import type {
  ArgusProfile,
  ArgusTokenParams,
  ArgusTokenSet,
  ArgusVerifyCallback,
  OAuth2Verify,
  OAuth2VerifyWithParams,
  OAuth2VerifyWithRequest,
  OAuth2VerifyWithRequestAndParams,
} from 'passport-argus';
import { afterEach, describe, expect, it } from 'vitest';
import type { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

/** What a verify function was called with, recorded as it arrived. */
let calls: unknown[][];

/** Logs alice in and answers the user the app sees on a protected route, and her tokens. */
async function logIn(options: TestAppOptions) {
  calls = [];
  app = await startTestApp(options);
  const { browser, landing } = await app.login();
  expect(landing.url).toBe(`${app.url}/`);
  expect(landing.body).toBe('home of alice');
  const stored = await app.storedSession(app.sessionId(browser) ?? '');
  return { user: await me(browser), tokens: stored?.argus as ArgusTokenSet };
}

async function me(browser: Browser): Promise<Record<string, unknown>> {
  const answer = await browser.request(`${app.url}/app/me`, {
    headers: { accept: 'application/json' },
  });
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body).user;
}

const appUser = (profile: ArgusProfile | undefined) =>
  ({ id: `app-${profile?.id}`, username: profile?.username }) as Express.User;

describe('a passport-oauth2 verify function, unchanged', () => {
  it('(accessToken, refreshToken, profile, done) gets the token strings and the profile', async () => {
    const verify: OAuth2Verify = (accessToken, refreshToken, profile, done) => {
      calls.push([accessToken, refreshToken, profile]);
      done(null, appUser(profile));
    };
    const { user, tokens } = await logIn({ verifyAnyForm: verify });
    expect(user).toEqual({ id: expect.stringMatching(/^app-/), username: 'alice' });
    const [accessToken, refreshToken, profile] = calls[0] ?? [];
    expect(accessToken).toBe(tokens.accessToken);
    expect(refreshToken).toBe(tokens.refreshToken);
    expect(typeof refreshToken).toBe('string');
    expect(profile).toMatchObject({ provider: 'argus', username: 'alice' });
  });

  it('(accessToken, refreshToken, params, profile, done) gets the token answer as params', async () => {
    const verify: OAuth2VerifyWithParams = (accessToken, refreshToken, params, profile, done) => {
      calls.push([accessToken, refreshToken, params, profile]);
      done(null, appUser(profile));
    };
    const { user, tokens } = await logIn({ verifyAnyForm: verify });
    expect(user).toMatchObject({ username: 'alice' });
    const [accessToken, refreshToken, params, profile] = calls[0] ?? [];
    expect(accessToken).toBe(tokens.accessToken);
    expect(refreshToken).toBe(tokens.refreshToken);
    expect(profile).toMatchObject({ username: 'alice' });
    // The emulator's answer, as Argus's documented one, field by field: the refresh token
    // is an argument of its own, as in passport-oauth2, and is not repeated here.
    expect(params).toEqual({
      access_token: tokens.accessToken,
      id_token: null,
      token_type: 'Bearer',
      expires_in: 300,
    });
    expect(Object.isFrozen(params)).toBe(true);
  });

  it('params carries the fields Argus sent as it sent them, scope included', async () => {
    const verify: OAuth2VerifyWithParams = (_at, _rt, params, profile, done) => {
      calls.push([params]);
      done(null, appUser(profile));
    };
    await logIn({
      verifyAnyForm: verify,
      strategy: { scope: 'openid profile' },
      emulator: { tokenLifetime: 120_000 },
    });
    const params = calls[0]?.[0] as ArgusTokenParams;
    expect(params.expires_in).toBe(120);
    expect(params.scope).toBe('openid profile');
    expect(params).not.toHaveProperty('refresh_token');
  });

  it('(req, accessToken, refreshToken, profile, done) gets the request first', async () => {
    const verify: OAuth2VerifyWithRequest = (req, accessToken, refreshToken, profile, done) => {
      calls.push([req.path, accessToken, refreshToken, profile]);
      done(null, appUser(profile));
    };
    const { user, tokens } = await logIn({
      verifyAnyForm: verify,
      strategy: { passReqToCallback: true },
    });
    expect(user).toMatchObject({ username: 'alice' });
    expect(calls[0]).toEqual([
      '/oauth/callback',
      tokens.accessToken,
      tokens.refreshToken,
      expect.objectContaining({ username: 'alice' }),
    ]);
  });

  it('(req, accessToken, refreshToken, params, profile, done) gets the request and params', async () => {
    const verify: OAuth2VerifyWithRequestAndParams = (req, at, rt, params, profile, done) => {
      calls.push([req.path, at, rt, params, profile]);
      done(null, appUser(profile));
    };
    const { tokens } = await logIn({
      verifyAnyForm: verify,
      strategy: { passReqToCallback: true },
    });
    expect(calls[0]).toEqual([
      '/oauth/callback',
      tokens.accessToken,
      tokens.refreshToken,
      expect.objectContaining({ access_token: tokens.accessToken, expires_in: 300 }),
      expect.objectContaining({ username: 'alice' }),
    ]);
  });

  it('refuses the login when it calls done(null, false)', async () => {
    const verify: OAuth2Verify = (_at, _rt, _profile, done) => done(null, false);
    calls = [];
    app = await startTestApp({ verifyAnyForm: verify });
    const { landing } = await app.login();
    expect(landing.url).toBe(`${app.url}/login-failed`);
  });
});

describe('a verify function whose length says nothing', () => {
  it('keeps the Argus form for rest parameters, as @nestjs/passport passes them', async () => {
    // The shape of @nestjs/passport's PassportStrategy callback: length 0, done last.
    const verify = async (...params: unknown[]) => {
      calls.push(params);
      const done = params.at(-1) as ArgusVerifyCallback;
      done(null, appUser(params[1] as ArgusProfile));
    };
    expect(verify.length).toBe(0);
    // Its promise resolves to nothing: the user went to done.
    const { user, tokens } = await logIn({ verifyAnyForm: verify as never });
    expect(user).toMatchObject({ username: 'alice' });
    expect(calls[0]).toEqual([
      tokens,
      expect.objectContaining({ username: 'alice' }),
      expect.any(Function),
    ]);
    expect(Object.isFrozen(calls[0]?.[0])).toBe(true);
  });

  it('keeps the Argus form, request first, for rest parameters with passReqToCallback', async () => {
    const verify = (...params: unknown[]) => {
      calls.push(params);
      (params[3] as ArgusVerifyCallback)(null, appUser(params[2] as ArgusProfile));
    };
    const { tokens } = await logIn({
      verifyAnyForm: verify,
      strategy: { passReqToCallback: true },
    });
    const [req, given, ...rest] = calls[0] ?? [];
    expect((req as Request).path).toBe('/oauth/callback');
    expect(given).toEqual(tokens);
    expect(rest).toHaveLength(2);
  });

  it('keeps the Argus form for a length that matches no passport-oauth2 form', async () => {
    // Six parameters without passReqToCallback: passport-oauth2 has no such form.
    const verify = (
      tokens: ArgusTokenSet,
      profile: ArgusProfile | undefined,
      done: ArgusVerifyCallback,
      _a?: unknown,
      _b?: unknown,
      _c?: unknown,
    ) => {
      calls.push([tokens, profile]);
      done(null, appUser(profile));
    };
    expect(verify.length).toBe(6);
    const { user, tokens } = await logIn({ verifyAnyForm: verify as never });
    expect(user).toMatchObject({ username: 'alice' });
    expect(calls[0]?.[0]).toEqual(tokens);
  });

  it('takes passport-oauth2 arguments with verifyStyle: "oauth2", async and returning the user', async () => {
    const verify = async (
      accessToken: string,
      refreshToken: string | undefined,
      profile: ArgusProfile | undefined,
    ) => {
      calls.push([accessToken, refreshToken, profile]);
      return appUser(profile);
    };
    const { user, tokens } = await logIn({
      verifyAnyForm: verify,
      strategy: { verifyStyle: 'oauth2' },
    });
    expect(user).toMatchObject({ username: 'alice' });
    expect(calls[0]?.slice(0, 2)).toEqual([tokens.accessToken, tokens.refreshToken]);
  });

  it('takes params through a wrapper with verifyStyle: "oauth2-params"', async () => {
    const wrap =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) =>
        fn(...args);
    const inner: OAuth2VerifyWithParams = (accessToken, _rt, params, profile, done) => {
      calls.push([accessToken, params]);
      done(null, appUser(profile));
    };
    const { tokens } = await logIn({
      verifyAnyForm: wrap(inner),
      strategy: { verifyStyle: 'oauth2-params' },
    });
    expect(calls[0]?.[0]).toBe(tokens.accessToken);
    expect(calls[0]?.[1]).toMatchObject({ access_token: tokens.accessToken, expires_in: 300 });
  });

  it('takes the Argus form with verifyStyle: "argus" whatever the length', async () => {
    // Four parameters would be passport-oauth2's form; the option says otherwise.
    const verify = (
      tokens: ArgusTokenSet,
      profile: ArgusProfile | undefined,
      done: ArgusVerifyCallback,
      _unused?: unknown,
    ) => {
      calls.push([tokens]);
      done(null, appUser(profile));
    };
    expect(verify.length).toBe(4);
    const { user, tokens } = await logIn({
      verifyAnyForm: verify as never,
      strategy: { verifyStyle: 'argus' },
    });
    expect(user).toMatchObject({ username: 'alice' });
    expect(calls[0]?.[0]).toEqual(tokens);
  });

  it('without the option, gives the same four-parameter function passport-oauth2 arguments', async () => {
    const verify = (a: unknown, b: unknown, profile: ArgusProfile | undefined, done: unknown) => {
      calls.push([a, b]);
      (done as ArgusVerifyCallback)(null, appUser(profile));
    };
    const { tokens } = await logIn({ verifyAnyForm: verify as never });
    expect(calls[0]).toEqual([tokens.accessToken, tokens.refreshToken]);
  });
});
