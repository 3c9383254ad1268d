/**
 * ArgusStrategy: log in with Argus through the OAuth2 authorization code flow, with
 * `state` and PKCE, and leave the token set in the session that the login creates.
 */
import type { Request } from 'express';
import OAuth2Strategy from 'passport-oauth2';
import { ArgusClient } from './core/argus-client.ts';
import { ArgusError, ArgusErrorCode, sessionRequiredError } from './core/errors.ts';
import {
  consumeLogin,
  isWellFormedState,
  type LoginTransaction,
  pendingLogins,
  restoreLogins,
  startLogin,
} from './core/login-transactions.ts';
import { log } from './core/log.ts';
import {
  type ArgusStrategyOptions,
  type ArgusStrategyOptionsWithRequest,
  type ResolvedOptions,
  resolveOptions,
} from './core/options.ts';
import type { ArgusProfile } from './core/profile.ts';
import { RefreshEngine } from './core/refresh-engine.ts';
import { type SessionRecord, writeTokens } from './core/session-record.ts';
import type { ArgusTokenSet } from './core/token-set.ts';
import { safeReturnTo } from './core/urls.ts';
import { cookieSessionError, keepsRecordInCookie } from './koa/session.ts';
import {
  type AuthRequest,
  bodylessRedirects,
  type LogIn,
  MAX_PARAM,
  noStore,
  samePath,
  single,
} from './callback-http.ts';
import { registerStrategy } from './strategy-registry.ts';

/** passport's `done` for a verify function. */
export type ArgusVerifyCallback = (
  error?: unknown,
  user?: Express.User | false,
  info?: object,
) => void;

/** A verify function returns nothing (it calls `done`) or a promise of the user. */
// biome-ignore lint/suspicious/noConfusingVoidType: a callback-style verify returns nothing
export type VerifyResult = void | Promise<Express.User | false>;

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

/** Options passed to `passport.authenticate('argus', options)` that this strategy reads. */
interface AuthenticateOptions {
  scope?: string | string[];
  [key: string]: unknown;
}

const GENERIC_FAILURE = 'The Argus login did not complete. Please try again.';
const CODE_PATTERN = /^[\x21-\x7e]+$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * What ArgusStrategy uses of passport-oauth2's `OAuth2Strategy`, and of the methods passport
 * adds to a strategy for each request. Declared here so that the published types need
 * neither `@types/passport-oauth2` nor `@types/oauth`, which apps do not install.
 */
interface OAuth2StrategyBase {
  name: string;
  /** passport's, per request: the login succeeded as `user`. */
  success(user: Express.User, info?: object): void;
  /** passport's, per request: the login failed (the user's side), with `status`. */
  fail(challenge?: object | string | number, status?: number): void;
  /** passport's, per request: send the browser to `url`. */
  redirect(url: string, status?: number): void;
  /** passport's, per request: the login could not be finished (our side or Argus's). */
  error(error: Error): void;
  authorizationParams(options: unknown): object;
  tokenParams(options: unknown): object;
  userProfile(accessToken: string, done: (err?: unknown, profile?: unknown) => void): void;
  authenticate(req: Request, options?: object): void;
}

/** passport-oauth2's `OAuth2Strategy`, typed as {@link OAuth2StrategyBase}. */
const OAuth2Base: new (
  options: {
    authorizationURL: string;
    tokenURL: string;
    clientID: string;
    clientSecret: string;
    callbackURL: string;
  },
  verify: () => void,
) => OAuth2StrategyBase = OAuth2Strategy;

/**
 * The passport strategy for Argus (named `argus`). It subclasses passport-oauth2's
 * `OAuth2Strategy` but owns the whole flow: a one-time `state` per login (several tabs
 * work), PKCE S256, the code exchange through passport-argus's own bounded HTTP client,
 * strict validation of the token answer, the profile with the user's IP forwarded, and
 * the token set written into the **new** session that passport creates at login.
 *
 * Extension points, as in passport-oauth2: override `authorizationParams(options)` and
 * `tokenParams(options)` to add parameters.
 *
 * @example
 * ```ts
 * passport.use(new ArgusStrategy({
 *   clientID: process.env.ARGUS_CLIENT_ID!,
 *   clientSecret: process.env.ARGUS_CLIENT_SECRET!,
 *   callbackURL: 'https://my.application/oauth/callback',
 * }));
 * app.get('/login', passport.authenticate('argus'));
 * app.get('/oauth/callback', passport.authenticate('argus', {
 *   successReturnToOrRedirect: '/', failureRedirect: '/login-failed' }));
 * ```
 * @see RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1
 */
export class ArgusStrategy extends OAuth2Base {
  /** The validated options. */
  readonly argusOptions: ResolvedOptions;
  /** Refreshes token sets for this client, one Argus call per session at a time. */
  readonly engine: RefreshEngine;
  // No #private members: passport runs each request on Object.create(strategy), and
  // private names do not resolve through a prototype.
  private readonly verifyFn: ArgusVerify | ArgusVerifyWithRequest | undefined;

  constructor(options: ArgusStrategyOptions, verify?: ArgusVerify);
  constructor(options: ArgusStrategyOptionsWithRequest, verify: ArgusVerifyWithRequest);
  constructor(
    options: ArgusStrategyOptions | ArgusStrategyOptionsWithRequest,
    verify?: ArgusVerify | ArgusVerifyWithRequest,
  ) {
    const resolved = resolveOptions(options);
    if (verify !== undefined && typeof verify !== 'function') {
      throw new TypeError('ArgusStrategy verify must be a function when given');
    }
    if (resolved.passReqToCallback && verify === undefined) {
      throw new TypeError('ArgusStrategy with passReqToCallback: true requires a verify function');
    }
    super(
      {
        authorizationURL: resolved.authorizationURL.href,
        tokenURL: resolved.tokenURL.href,
        clientID: resolved.clientID,
        clientSecret: resolved.clientSecret,
        callbackURL: resolved.callbackURL.href,
      },
      // The flow is ours; passport-oauth2 only needs a function here.
      () => undefined,
    );
    this.name = resolved.name;
    this.argusOptions = resolved;
    this.verifyFn = verify;
    this.engine = new RefreshEngine(new ArgusClient(resolved), {
      coordinator: resolved.coordinator,
      timeout: resolved.timeout,
    });
    registerStrategy(this);
  }

  /**
   * The events of this client's sessions: `login`, `refresh`, `refresh-failed`, `logout`
   * (with a reason). No event carries a token.
   *
   * @example
   * ```ts
   * strategy.events.on('logout', ({ reason }) => metrics.increment(`argus.logout.${reason}`));
   * ```
   */
  get events(): RefreshEngine {
    return this.engine;
  }

  /** The Argus client of this strategy, for calls outside a request. */
  get client(): ArgusClient {
    return this.engine.client;
  }

  /** Extra parameters for the authorize request. Override to add some. */
  override authorizationParams(_options: unknown): object {
    return {};
  }

  /** Extra parameters for the token request. Override to add some. */
  override tokenParams(_options: unknown): object {
    return {};
  }

  /**
   * passport-oauth2's profile hook, kept for compatibility: reads the profile without a
   * forwarded IP. The login itself forwards the user's IP.
   */
  override userProfile(
    accessToken: string,
    done: (err?: unknown, profile?: unknown) => void,
  ): void {
    this.client.profile(accessToken, undefined).then(
      (profile) => done(null, profile),
      (error: unknown) => done(error),
    );
  }

  /** Starts a login, or finishes one on the callback. Never throws: failures go to passport. */
  override authenticate(req: Request, options?: AuthenticateOptions): void {
    this.handle(req as unknown as AuthRequest, options ?? {}).catch((error: unknown) => {
      this.error(error instanceof Error ? error : new Error('ArgusStrategy failed'));
    });
  }

  private async handle(req: AuthRequest, options: AuthenticateOptions): Promise<void> {
    const session = req.session;
    if (typeof session !== 'object' || session === null) return this.error(sessionRequiredError());
    // A cookie-only koa-session would carry the token set to the browser.
    if (keepsRecordInCookie(session)) return this.error(cookieSessionError());
    const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://request.invalid');
    const params = url.searchParams;
    const isCallback =
      samePath(url.pathname, this.argusOptions.callbackURL.pathname) ||
      params.has('code') ||
      params.has('state') ||
      params.has('error');
    if (!isCallback) return this.redirectToArgus(req, session, options);
    return this.finishLogin(req, session, url, options);
  }

  private redirectToArgus(
    req: AuthRequest,
    session: SessionRecord,
    options: AuthenticateOptions,
  ): void {
    const opts = this.argusOptions;
    // The page to come back to travels with this login only, so other tabs keep theirs.
    const returnTo = safeReturnTo(session.returnTo);
    delete session.returnTo;
    const started = startLogin(session, {
      pkce: opts.pkce,
      returnTo,
      now: Date.now(),
      limits: { maxAge: opts.loginTimeout, maxCount: opts.maxPendingLogins },
    });
    const target = new URL(opts.authorizationURL.href);
    const query = target.searchParams;
    for (const [key, value] of Object.entries(this.authorizationParams(options))) {
      if (typeof value === 'string') query.set(key, value);
    }
    query.set('client_id', opts.clientID);
    query.set('redirect_uri', opts.callbackURL.href);
    query.set('response_type', 'code');
    const scope = options.scope === undefined ? opts.scope : [options.scope].flat().join(' ');
    if (scope) query.set('scope', scope);
    query.set('state', started.state);
    if (started.codeChallenge !== undefined) {
      query.set('code_challenge', started.codeChallenge);
      query.set('code_challenge_method', 'S256');
    }
    noStore(req);
    log.strategy('redirecting to the Argus authorize page');
    this.redirect(target.href);
  }

  private async finishLogin(
    req: AuthRequest,
    session: SessionRecord,
    url: URL,
    options: AuthenticateOptions,
  ): Promise<void> {
    const params = url.searchParams;
    noStore(req);
    bodylessRedirects(req);
    const opts = this.argusOptions;
    const state = single(params, 'state');
    if (state === undefined || state === null || !isWellFormedState(state)) {
      return this.refuse('the callback has no valid state', 400);
    }
    // Consume the transaction before anything else is checked, so it cannot be replayed.
    const txn = consumeLogin(session, state, Date.now(), {
      maxAge: opts.loginTimeout,
      maxCount: opts.maxPendingLogins,
    });
    if (txn === undefined) return this.refuse('the state is unknown, expired or already used', 400);
    // URLSearchParams keeps a broken escape such as '%ZZ' as literal text: refuse it instead.
    if (MALFORMED_ESCAPE.test(url.search)) return this.refuse('the callback is malformed', 400);
    const error = single(params, 'error');
    const code = single(params, 'code');
    if (error !== undefined) {
      if (error === null || code !== undefined)
        return this.refuse('the callback is malformed', 400);
      // Argus's error_description is never shown: it is attacker-controllable text.
      return this.refuse(
        `Argus refused the login (${/^[a-z_]{1,40}$/.test(error) ? error : 'error'})`,
        403,
      );
    }
    if (
      code === undefined ||
      code === null ||
      code.length > MAX_PARAM ||
      !CODE_PATTERN.test(code)
    ) {
      return this.refuse('the callback has no valid code', 400);
    }
    const clientIp = req.ip ?? req.socket?.remoteAddress;
    let tokens: ArgusTokenSet;
    try {
      tokens = await this.client.exchangeCode(
        code,
        txn.verifier,
        clientIp,
        stringsOf(this.tokenParams(options)),
      );
    } catch (err) {
      if (err instanceof ArgusError && err.code === ArgusErrorCode.REJECTED) {
        return this.refuse(
          `Argus did not accept the code (${err.oauthError ?? err.argusStatus})`,
          401,
        );
      }
      return this.error(err as Error);
    }
    const profile = await this.client.profile(tokens.accessToken, clientIp);
    const { user, info } = await this.runVerify(req, tokens, profile);
    if (!user) return this.fail(info ?? { message: GENERIC_FAILURE }, 403);
    this.keepTokensAcrossLogin(req, tokens, txn, pendingLogins(session));
    log.strategy('login complete');
    this.engine.emit('login', { user });
    this.success(user, info);
  }

  private refuse(reason: string, status: number): void {
    log.strategy('login refused: %s', reason);
    this.fail({ message: GENERIC_FAILURE }, status);
  }

  private runVerify(
    req: AuthRequest,
    tokens: ArgusTokenSet,
    profile: ArgusProfile | undefined,
  ): Promise<{ user: Express.User | false | undefined; info: object | undefined }> {
    const verify = this.verifyFn;
    if (verify === undefined) {
      return Promise.resolve({
        user: (profile ?? { provider: 'argus' }) as Express.User,
        info: undefined,
      });
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const done: ArgusVerifyCallback = (error, user, info) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve({ user, info });
      };
      const frozen = Object.freeze({ ...tokens });
      const result = this.argusOptions.passReqToCallback
        ? (verify as ArgusVerifyWithRequest)(req as unknown as Request, frozen, profile, done)
        : (verify as ArgusVerify)(frozen, profile, done);
      if (result && typeof result.then === 'function') {
        result.then((user) => done(null, user), done);
      }
    });
  }

  /**
   * passport's login regenerates the session (session fixation defence), dropping what
   * the old one held. Wrap this request's `logIn` so that, once the new session exists,
   * it receives the token set, the page to return to and the other tabs' logins.
   */
  private keepTokensAcrossLogin(
    req: AuthRequest,
    tokens: ArgusTokenSet,
    txn: LoginTransaction,
    pending: unknown,
  ): void {
    const fill = () => {
      const fresh = req.session;
      if (typeof fresh !== 'object' || fresh === null) return;
      writeTokens(fresh, tokens);
      restoreLogins(fresh, pending);
      if (txn.returnTo !== undefined) fresh.returnTo = txn.returnTo;
      else delete fresh.returnTo;
    };
    const original = req.logIn;
    if (typeof original !== 'function') {
      fill();
      return;
    }
    const wrapped: LogIn = (user, options, done) => {
      const callback = typeof options === 'function' ? (options as (e?: unknown) => void) : done;
      const opts = typeof options === 'function' ? {} : options;
      req.logIn = req.login = original;
      original.call(req, user, opts, (error?: unknown) => {
        if (!error) fill();
        callback?.(error);
      });
    };
    req.logIn = req.login = wrapped;
  }
}

function stringsOf(value: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}
