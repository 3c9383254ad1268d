/**
 * The public types, as an app's TypeScript sees them. Vitest type-checks this file; a
 * `@ts-expect-error` line fails when its line stops being an error.
 */
import type { Request } from 'express';
import type { ParameterizedContext } from 'koa';
import {
  type ArgusError,
  ArgusErrorCode,
  type ArgusProfile,
  type ArgusRequestContext,
  ArgusStrategy,
  type ArgusStrategyOptions,
  type ArgusTokenParams,
  type ArgusTokenSet,
  type ArgusVerifyCallback,
  argusLogout,
  type OAuth2Verify,
  type OAuth2VerifyWithParams,
  type OAuth2VerifyWithRequest,
  type OAuth2VerifyWithRequestAndParams,
  type RenewOutcome,
  isArgusError,
  requireArgus,
  type VerifyStyle,
} from 'passport-argus';
import { requireArgus as koaRequireArgus } from 'passport-argus/koa';
import type { VerifyCallback } from 'passport-oauth2';
import { describe, expectTypeOf, test } from 'vitest';

const required = {
  clientID: '0c7f1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  clientSecret: 'secret',
  callbackURL: 'https://my.application/oauth/callback',
};

describe('req.argus', () => {
  test('is typed on Express’s Request, with no cast', () => {
    expectTypeOf<Request['argus']>().not.toBeAny();
    expectTypeOf<Request['argus']>().toEqualTypeOf<ArgusRequestContext>();
    expectTypeOf<Request['argus']['accessToken']>().toEqualTypeOf<string>();
    expectTypeOf<Request['argus']['expiresAt']>().toEqualTypeOf<Date>();
    expectTypeOf<Request['argus']['fetch']>().returns.toEqualTypeOf<Promise<Response>>();
    expectTypeOf<Request['argus']['refresh']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Request['argus']['logout']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Request['argus']['ensureFresh']>().toEqualTypeOf<
      (force?: boolean) => Promise<RenewOutcome>
    >();
  });

  test('json() answers the type asked for', () => {
    const handler = async (req: Request) =>
      req.argus.json<{ userName: string }>('/currentuser/v1/user');
    expectTypeOf(handler).returns.resolves.toEqualTypeOf<{ userName: string }>();
    // @ts-expect-error not a member of req.argus
    (req: Request) => req.argus.accessTokens;
  });

  test('is ctx.state.argus in Koa', () => {
    expectTypeOf<ParameterizedContext['state']['argus']>().toEqualTypeOf<ArgusRequestContext>();
    expectTypeOf(koaRequireArgus).returns.not.toBeAny();
  });
});

describe('the verify function', () => {
  test('gets the token set, the profile and done', () => {
    new ArgusStrategy(required, (tokens, profile, done) => {
      expectTypeOf(tokens).toEqualTypeOf<Readonly<ArgusTokenSet>>();
      expectTypeOf(profile).toEqualTypeOf<ArgusProfile | undefined>();
      expectTypeOf(done).toEqualTypeOf<ArgusVerifyCallback>();
      done(null, profile ?? false);
    });
  });

  test('gets the request first with passReqToCallback: true', () => {
    new ArgusStrategy({ ...required, passReqToCallback: true }, (req, tokens, profile, done) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      expectTypeOf(tokens).toEqualTypeOf<Readonly<ArgusTokenSet>>();
      expectTypeOf(profile).toEqualTypeOf<ArgusProfile | undefined>();
      done(null, profile ?? false);
    });
  });

  test('may be async and return the user, or false to refuse', () => {
    new ArgusStrategy(required, async (_tokens, profile) => profile ?? false);
    new ArgusStrategy({ ...required, passReqToCallback: true }, async (_req, _tokens, profile) =>
      profile?.username === 'alice' ? profile : false,
    );
  });

  test('is optional, except with passReqToCallback: true', () => {
    new ArgusStrategy(required);
    // @ts-expect-error passReqToCallback: true needs a verify function that takes the request
    new ArgusStrategy({ ...required, passReqToCallback: true });
  });

  test('takes the request only when passReqToCallback is true', () => {
    const withRequest = (
      _req: Request,
      _tokens: ArgusTokenSet,
      _profile: ArgusProfile | undefined,
      done: ArgusVerifyCallback,
    ) => done(null, false);
    const withoutRequest = (
      _tokens: ArgusTokenSet,
      _profile: ArgusProfile | undefined,
      done: ArgusVerifyCallback,
    ) => done(null, false);
    // @ts-expect-error without passReqToCallback, verify starts with the tokens
    new ArgusStrategy(required, withRequest);
    // @ts-expect-error with passReqToCallback: true, verify starts with the request
    new ArgusStrategy({ ...required, passReqToCallback: true }, withoutRequest);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: what apps written for @types/passport-oauth2 declare
type Untyped = any;

describe('a passport-oauth2 verify function', () => {
  // As under @types/passport-oauth2 (whose 4-argument form gets no contextual types
  // either), its parameters are annotated: the constructor's first overload, the Argus
  // form, is the one that types an unannotated function.
  test('has a type for each of its forms', () => {
    expectTypeOf<OAuth2Verify>().parameters.toEqualTypeOf<
      [string, string | undefined, ArgusProfile | undefined, ArgusVerifyCallback]
    >();
    expectTypeOf<OAuth2VerifyWithParams>().parameters.toEqualTypeOf<
      [string, string | undefined, ArgusTokenParams, ArgusProfile | undefined, ArgusVerifyCallback]
    >();
    expectTypeOf<OAuth2VerifyWithRequest>().parameters.toEqualTypeOf<
      [Request, string, string | undefined, ArgusProfile | undefined, ArgusVerifyCallback]
    >();
    expectTypeOf<OAuth2VerifyWithRequestAndParams>().parameters.toEqualTypeOf<
      [
        Request,
        string,
        string | undefined,
        ArgusTokenParams,
        ArgusProfile | undefined,
        ArgusVerifyCallback,
      ]
    >();
    expectTypeOf<ArgusTokenParams['access_token']>().toEqualTypeOf<string>();
    expectTypeOf<ArgusTokenParams['expires_in']>().toEqualTypeOf<number | null | undefined>();
  });

  test('(accessToken, refreshToken, profile, done) is accepted', () => {
    const verify: OAuth2Verify = (accessToken, refreshToken, profile, done) => {
      expectTypeOf(accessToken).toEqualTypeOf<string>();
      expectTypeOf(refreshToken).toEqualTypeOf<string | undefined>();
      done(null, profile ?? false);
    };
    new ArgusStrategy(required, verify);
    new ArgusStrategy(
      required,
      (
        _accessToken: string,
        _refreshToken: string | undefined,
        profile: ArgusProfile | undefined,
        done: ArgusVerifyCallback,
      ) => done(null, profile ?? false),
    );
  });

  test('(accessToken, refreshToken, params, profile, done) is accepted', () => {
    const verify: OAuth2VerifyWithParams = (_accessToken, _refreshToken, params, profile, done) => {
      expectTypeOf(params).toEqualTypeOf<ArgusTokenParams>();
      done(null, profile ?? false);
    };
    new ArgusStrategy(required, verify);
  });

  test('takes the request first with passReqToCallback: true, in both forms', () => {
    const withRequest = { ...required, passReqToCallback: true as const };
    const plain: OAuth2VerifyWithRequest = (req, _accessToken, _refreshToken, profile, done) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      done(null, profile ?? false);
    };
    const withParams: OAuth2VerifyWithRequestAndParams = (req, _at, _rt, params, profile, done) => {
      expectTypeOf(req).toEqualTypeOf<Request>();
      expectTypeOf(params).toEqualTypeOf<ArgusTokenParams>();
      done(null, profile ?? false);
    };
    new ArgusStrategy(withRequest, plain);
    new ArgusStrategy(withRequest, withParams);
    // @ts-expect-error without passReqToCallback, the request is not an argument
    new ArgusStrategy(required, withParams);
  });

  test('written against @types/passport-oauth2 is accepted unchanged', () => {
    new ArgusStrategy(
      required,
      (_accessToken: string, _refreshToken: string, profile: Untyped, cb: VerifyCallback) =>
        cb(null, profile),
    );
    new ArgusStrategy(
      required,
      (
        _accessToken: string,
        _refreshToken: string,
        _params: Untyped,
        profile: Untyped,
        cb: VerifyCallback,
      ) => cb(null, profile),
    );
    new ArgusStrategy(
      { ...required, passReqToCallback: true },
      (
        _req: Request,
        _accessToken: string,
        _refreshToken: string,
        profile: Untyped,
        cb: VerifyCallback,
      ) => cb(null, profile),
    );
    const wrong = (
      _accessToken: number,
      _refreshToken: string,
      profile: Untyped,
      cb: VerifyCallback,
    ) => cb(null, profile);
    // @ts-expect-error the access token is a string
    new ArgusStrategy(required, wrong);
  });

  test('may be async with verifyStyle, which takes only the three styles', () => {
    new ArgusStrategy(
      { ...required, verifyStyle: 'oauth2' },
      async (
        _accessToken: string,
        _refreshToken: string | undefined,
        profile: ArgusProfile | undefined,
      ) => profile ?? false,
    );
    new ArgusStrategy({ ...required, verifyStyle: 'argus' }, async (...args: unknown[]) => {
      void args;
      return false;
    });
    expectTypeOf<NonNullable<ArgusStrategyOptions['verifyStyle']>>().toEqualTypeOf<VerifyStyle>();
    expectTypeOf<VerifyStyle>().toEqualTypeOf<'argus' | 'oauth2' | 'oauth2-params'>();
    // @ts-expect-error verifyStyle is 'argus', 'oauth2' or 'oauth2-params'
    new ArgusStrategy({ ...required, verifyStyle: 'passport' });
  });
});

describe('options', () => {
  test('are checked by type', () => {
    new ArgusStrategy({
      ...required,
      scope: ['openid', 'profile'],
      clientAuthentication: 'client_secret_basic',
      profile: 'userinfo',
      timeout: 5_000,
    });
    // @ts-expect-error clientID is required
    new ArgusStrategy({ clientSecret: 'secret', callbackURL: required.callbackURL });
    // @ts-expect-error clientSecret is a string
    new ArgusStrategy({ ...required, clientSecret: 42 });
    // @ts-expect-error timeout is a number of milliseconds
    new ArgusStrategy({ ...required, timeout: '10s' });
    // @ts-expect-error pkce is a boolean
    new ArgusStrategy({ ...required, pkce: 'yes' });
    // @ts-expect-error clientAuthentication is client_secret_post or client_secret_basic
    new ArgusStrategy({ ...required, clientAuthentication: 'private_key_jwt' });
    // @ts-expect-error profile is 'currentuser', 'userinfo' or false
    new ArgusStrategy({ ...required, profile: true });
    // @ts-expect-error a misspelt option is not silently ignored
    new ArgusStrategy({ ...required, callbackUrl: required.callbackURL });
  });

  test('encryptionKeys takes one key or a list: { id, key }, a base64 string or bytes', () => {
    const key = 'c2VhbGluZyBrZXkgZm9yIGEgdHlwZSB0ZXN0IG9ubHkhIQ==';
    new ArgusStrategy({ ...required, encryptionKeys: key });
    new ArgusStrategy({ ...required, encryptionKeys: [{ id: 'new', key }, Buffer.alloc(32)] });
    new ArgusStrategy({ ...required, encryptionKeys: { id: 'only', key: new Uint8Array(32) } });
    // @ts-expect-error a key is a string or bytes
    new ArgusStrategy({ ...required, encryptionKeys: 42 });
    // @ts-expect-error { id, key } needs its id
    new ArgusStrategy({ ...required, encryptionKeys: [{ key }] });
  });

  test('of requireArgus and argusLogout are checked by type', () => {
    requireArgus({ loginURL: '/login', refreshWindow: 30_000, noStore: false });
    argusLogout({ redirectTo: '/', allowGet: true });
    // @ts-expect-error refreshWindow is a number of milliseconds
    requireArgus({ refreshWindow: '1m' });
    // @ts-expect-error noStore is a boolean
    requireArgus({ noStore: 'no' });
    // @ts-expect-error allowGet is a boolean
    argusLogout({ allowGet: 'yes' });
  });
});

describe('error codes', () => {
  test('ArgusErrorCode is the union of the code strings', () => {
    expectTypeOf<ArgusErrorCode>().toEqualTypeOf<
      | 'ARGUS_TIMEOUT'
      | 'ARGUS_NETWORK'
      | 'ARGUS_RESPONSE_TOO_LARGE'
      | 'ARGUS_REDIRECT'
      | 'ARGUS_BAD_RESPONSE'
      | 'ARGUS_HTTP'
      | 'ARGUS_REJECTED'
      | 'ARGUS_CLIENT_REJECTED'
      | 'ARGUS_LOGIN_REQUIRED'
      | 'ARGUS_SESSION_EXPIRED'
      | 'ARGUS_INVALID_CALLBACK'
      | 'ARGUS_SESSION_REQUIRED'
      | 'ARGUS_COORDINATION'
      | 'ARGUS_BREAKER_OPEN'
      | 'ARGUS_MISCONFIGURED'
    >();
    expectTypeOf(ArgusErrorCode.TIMEOUT).toEqualTypeOf<'ARGUS_TIMEOUT'>();
    // @ts-expect-error not a code
    const unknown: ArgusErrorCode = 'ARGUS_UNKNOWN';
    void unknown;
  });

  test('an ArgusError carries a code of the union, found by isArgusError', () => {
    expectTypeOf<ArgusError['code']>().toEqualTypeOf<ArgusErrorCode>();
    const error: unknown = new Error('x');
    if (isArgusError(error)) expectTypeOf(error.code).toEqualTypeOf<ArgusErrorCode>();
  });
});

describe('an async verify function that calls done itself', () => {
  test('type-checks', () => {
    expectTypeOf(
      new ArgusStrategy(required, async (_tokens, profile, done) => {
        done(null, profile as Express.User);
      }),
    ).toEqualTypeOf<ArgusStrategy>();
  });
});
