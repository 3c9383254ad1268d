/**
 * The verify function of a login: this package's form `(tokens, profile, done)` and
 * passport-oauth2's forms `(accessToken, refreshToken[, params], profile, done)`, each
 * optionally with the request first, told apart as passport-oauth2 does.
 */
import type { Request } from 'express';
import type { ArgusTokenParams } from './core/argus-client.ts';
import type { ResolvedOptions, VerifyStyle } from './core/options.ts';
import type { ArgusProfile } from './core/profile.ts';
import type { ArgusTokenSet } from './core/token-set.ts';
import type { AuthRequest } from './callback-http.ts';

/** passport's `done` for a verify function. */
export type ArgusVerifyCallback = (
  error?: unknown,
  user?: Express.User | false,
  info?: object,
) => void;

/**
 * A verify function returns nothing (it calls `done`) or a promise of the user. An async
 * function that calls `done` itself resolves to nothing; `done` then decides.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a callback-style verify returns nothing
export type VerifyResult = void | Promise<Express.User | false | void>;

/**
 * Decides who logs in. Receives the token set (keep it out of the user object: it lives in
 * the session already) and the profile (`undefined` with `profile: false`). Call `done`, or
 * return a promise of the user (`false` to refuse).
 */
export type ArgusVerify = (
  tokens: Readonly<ArgusTokenSet>,
  profile: ArgusProfile | undefined,
  done: ArgusVerifyCallback,
) => VerifyResult;

/** {@link ArgusVerify} with the request first (`passReqToCallback: true`). */
export type ArgusVerifyWithRequest = (
  req: Request,
  tokens: Readonly<ArgusTokenSet>,
  profile: ArgusProfile | undefined,
  done: ArgusVerifyCallback,
) => VerifyResult;

// Each passport-oauth2 form below is a method's type (`{ verify(…): … }['verify']`), so
// that TypeScript checks its parameters both ways, as it checks a method's: a function
// written for @types/passport-oauth2 declares `refreshToken: string`, while the argument
// is `undefined` when Argus issued no refresh token (as in passport-oauth2), and that
// function must still be accepted unchanged.

/**
 * passport-oauth2's verify form, for an app that moves from it with its verify function
 * unchanged: `(accessToken, refreshToken, profile, done)`. `refreshToken` is `undefined`
 * when Argus issued none. Chosen for a function of 4 parameters, or with
 * `verifyStyle: 'oauth2'`.
 */
export type OAuth2Verify = {
  /** Called once per login: call `done`, or return a promise of the user (`false` refuses). */
  verify(
    accessToken: string,
    refreshToken: string | undefined,
    profile: ArgusProfile | undefined,
    done: ArgusVerifyCallback,
  ): VerifyResult;
}['verify'];

/**
 * passport-oauth2's verify form with the token answer's fields:
 * `(accessToken, refreshToken, params, profile, done)`. Chosen for a function of 5
 * parameters, or with `verifyStyle: 'oauth2-params'`.
 */
export type OAuth2VerifyWithParams = {
  /** Called once per login: call `done`, or return a promise of the user (`false` refuses). */
  verify(
    accessToken: string,
    refreshToken: string | undefined,
    params: ArgusTokenParams,
    profile: ArgusProfile | undefined,
    done: ArgusVerifyCallback,
  ): VerifyResult;
}['verify'];

/**
 * {@link OAuth2Verify} with the request first (`passReqToCallback: true`). Chosen for a
 * function of 5 parameters, or with `verifyStyle: 'oauth2'`.
 */
export type OAuth2VerifyWithRequest = {
  /** Called once per login: call `done`, or return a promise of the user (`false` refuses). */
  verify(
    req: Request,
    accessToken: string,
    refreshToken: string | undefined,
    profile: ArgusProfile | undefined,
    done: ArgusVerifyCallback,
  ): VerifyResult;
}['verify'];

/**
 * {@link OAuth2VerifyWithParams} with the request first (`passReqToCallback: true`). Chosen
 * for a function of 6 parameters, or with `verifyStyle: 'oauth2-params'`.
 */
export type OAuth2VerifyWithRequestAndParams = {
  /** Called once per login: call `done`, or return a promise of the user (`false` refuses). */
  verify(
    req: Request,
    accessToken: string,
    refreshToken: string | undefined,
    params: ArgusTokenParams,
    profile: ArgusProfile | undefined,
    done: ArgusVerifyCallback,
  ): VerifyResult;
}['verify'];

/** Every verify form ArgusStrategy takes. */
export type AnyVerify =
  | ArgusVerify
  | ArgusVerifyWithRequest
  | OAuth2Verify
  | OAuth2VerifyWithParams
  | OAuth2VerifyWithRequest
  | OAuth2VerifyWithRequestAndParams;

/**
 * Which form a verify function has, told by its `length` as passport-oauth2 tells its own
 * forms apart (lib/strategy.js: 6 or 5 parameters with `passReqToCallback`, 5 or 4
 * without), unless the `verifyStyle` option says. Any other length keeps this package's
 * form: 0 is what rest parameters and most wrappers report (`@nestjs/passport` passes
 * `async (...params) => …`), and the Argus form itself has 2 or 3 (async or with `done`;
 * one more with the request).
 */
export function verifyStyleOf(verify: AnyVerify, options: ResolvedOptions): VerifyStyle {
  if (options.verifyStyle !== undefined) return options.verifyStyle;
  const oauth2Length = options.passReqToCallback ? 5 : 4;
  if (verify.length === oauth2Length + 1) return 'oauth2-params';
  if (verify.length === oauth2Length) return 'oauth2';
  return 'argus';
}

/**
 * Calls the verify function in its form (see {@link verifyStyleOf}), with `done` last in
 * every form. Whatever the form, it may call `done` or return a promise of the user. With
 * no verify function the user is the profile (or `{ provider: 'argus' }`).
 */
export function runVerify(
  verify: AnyVerify | undefined,
  style: VerifyStyle,
  passReqToCallback: boolean,
  req: AuthRequest,
  tokens: ArgusTokenSet,
  params: ArgusTokenParams | undefined,
  profile: ArgusProfile | undefined,
): Promise<{ user: Express.User | false | undefined; info: object | undefined }> {
  if (verify === undefined) {
    return Promise.resolve({
      user: (profile ?? { provider: 'argus' }) as Express.User,
      info: undefined,
    });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    let args: unknown[];
    if (style === 'argus') args = [Object.freeze({ ...tokens }), profile];
    else if (style === 'oauth2') {
      args = [tokens.accessToken, tokens.refreshToken, profile];
    } else args = [tokens.accessToken, tokens.refreshToken, params, profile];
    if (passReqToCallback) args.unshift(req);
    // `done` is made where it is passed, then read back (see CONTRIBUTING.md, Code).
    args.push(((error, user, info) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve({ user, info });
    }) satisfies ArgusVerifyCallback);
    const done = args[args.length - 1] as ArgusVerifyCallback;
    const result = (verify as (...args: unknown[]) => VerifyResult)(...args);
    if (result && typeof result.then === 'function') {
      result.then((user) => done(null, user ?? undefined), done);
    }
  });
}
