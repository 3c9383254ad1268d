/**
 * ArgusStrategy: log in with Argus through the OAuth2 authorization code flow, with
 * `state` and PKCE, and leave the token set in the session that the login creates.
 */
import { inspect } from 'node:util';
import type { Request } from 'express';
import OAuth2Strategy from 'passport-oauth2';
import { ArgusClient, type ArgusTokenParams } from './core/argus-client.ts';
import {
  ArgusError,
  ArgusErrorCode,
  cookieLostReason,
  isUnavailable,
  secureCookieOverHttpError,
  serverSessionRequiredError,
  sessionRequiredError,
  unavailableError,
} from './core/errors.ts';
import type { LoginFailureReason } from './core/events.ts';
import { ArgusWarningCode, emitArgusWarning } from './core/warnings.ts';
import {
  consumeLogin,
  findLogin,
  isWellFormedState,
  landingsOf,
  startLogin,
  takeLanding,
} from './core/login-transactions.ts';
import { log } from './core/log.ts';
import {
  type ArgusStrategyOptions,
  type ArgusStrategyOptionsWithRequest,
  type ResolvedOptions,
  resolveOptions,
  type VerifyStyle,
} from './core/options.ts';
import { RefreshEngine } from './core/refresh-engine.ts';
import type { RefreshEngineStats } from './core/stats.ts';
import { readLogins, readTokens, type SessionRecord } from './core/session-record.ts';
import { gateStore } from './core/store-gate.ts';
import type { ArgusTokenSet } from './core/token-set.ts';
import { TokenVault } from './core/token-vault.ts';
import { safeReturnTo } from './core/urls.ts';
import { cookieSessionError, keepsRecordInCookie } from './koa/session.ts';
import {
  type AuthRequest,
  bodylessRedirects,
  isCookieOnlyExpressSession,
  secureCookieOverHttp,
  MAX_PARAM,
  noStore,
  callbackRequestQuery,
  single,
} from './callback-http.ts';
import { type CallbackQuery, hasBrokenEscape } from './callback-query.ts';
import { authorizeQuery } from './authorize-query.ts';
import { LoginAttempt } from './login-attempt.ts';
import { keepTokensAcrossLogin, successTarget } from './login-session.ts';
import { registerStrategy } from './strategy-registry.ts';
import { type ArgusStrategyView, strategyView } from './strategy-view.ts';
import {
  type AnyVerify,
  type ArgusVerify,
  type ArgusVerifyWithRequest,
  type OAuth2Verify,
  type OAuth2VerifyWithParams,
  type OAuth2VerifyWithRequest,
  type OAuth2VerifyWithRequestAndParams,
  runVerify,
  verifyStyleOf,
} from './verify.ts';

/** Options passed to `passport.authenticate('argus', options)` that this strategy reads. */
interface AuthenticateOptions {
  scope?: string | string[];
  [key: string]: unknown;
}

const GENERIC_FAILURE = 'The Argus login did not complete. Please try again.';
const CODE_PATTERN = /^[\x21-\x7e]+$/;

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
  private readonly verifyFn: AnyVerify | undefined;
  private readonly verifyStyle: VerifyStyle;

  /** With this package's verify form, `(tokens, profile, done)`, or none. */
  constructor(options: ArgusStrategyOptions, verify?: ArgusVerify);
  /** With this package's verify form and the request first, `(req, tokens, profile, done)`. */
  constructor(options: ArgusStrategyOptionsWithRequest, verify: ArgusVerifyWithRequest);
  /** With passport-oauth2's verify form, `(accessToken, refreshToken, profile, done)`. */
  constructor(options: ArgusStrategyOptions, verify: OAuth2Verify);
  /** With passport-oauth2's verify form and the request first. */
  constructor(options: ArgusStrategyOptionsWithRequest, verify: OAuth2VerifyWithRequest);
  /** With passport-oauth2's `(accessToken, refreshToken, params, profile, done)`. */
  constructor(options: ArgusStrategyOptions, verify: OAuth2VerifyWithParams);
  /** With passport-oauth2's form with `params`, and the request first. */
  constructor(options: ArgusStrategyOptionsWithRequest, verify: OAuth2VerifyWithRequestAndParams);
  constructor(options: ArgusStrategyOptions | ArgusStrategyOptionsWithRequest, verify?: AnyVerify) {
    const resolved = resolveOptions(options);
    if (verify !== undefined && typeof verify !== 'function') {
      throw new TypeError('ArgusStrategy verify must be a function when given');
    }
    if (resolved.passReqToCallback && verify === undefined) {
      throw new TypeError('ArgusStrategy with passReqToCallback: true requires a verify function');
    }
    if (resolved.verifyStyle !== undefined && verify === undefined) {
      throw new TypeError('ArgusStrategy option "verifyStyle" requires a verify function');
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
    // Told once: the function's length cannot change the form from one login to the next.
    this.verifyStyle = verify === undefined ? 'argus' : verifyStyleOf(verify, resolved);
    this.engine = new RefreshEngine(new ArgusClient(resolved), {
      coordinator: resolved.coordinator,
      timeout: resolved.timeout,
      loginTimeout: resolved.loginTimeout,
      vault: new TokenVault(resolved.encryption),
      breaker: resolved.breaker,
    });
    registerStrategy(this);
  }

  /**
   * The events of this client's sessions: `login`, `login-failed` (with a reason),
   * `refresh`, `refresh-failed`, `logout` (with a reason), each with its `durationMs`. No
   * event carries a token.
   *
   * @example
   * ```ts
   * strategy.events.on('logout', ({ reason }) => metrics.increment(`argus.logout.${reason}`));
   * ```
   */
  get events(): RefreshEngine {
    return this.engine;
  }

  /**
   * What this strategy holds in this process now (refreshes in flight, kept refresh
   * answers, logout markers, coordination retries), as plain numbers for a metrics gauge.
   *
   * @example
   * ```ts
   * setInterval(() => metrics.gauge('argus.refreshes_in_flight', strategy.stats().refreshesInFlight), 10_000);
   * ```
   */
  stats(): RefreshEngineStats {
    return this.engine.stats();
  }

  /** The Argus client of this strategy, for calls outside a request. */
  get client(): ArgusClient {
    return this.engine.client;
  }

  /**
   * Serialized whole (passport's instance rides on every request, and koa-passport's in
   * `ctx.state`), the strategy is its name and public settings: never its client secret.
   */
  toJSON(): ArgusStrategyView {
    return strategyView(this.name, this.argusOptions);
  }

  /** Inspected whole, as by a logger: the same view as {@link ArgusStrategy.toJSON}. */
  [inspect.custom](): string {
    return `ArgusStrategy ${inspect(this.toJSON())}`;
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
      this.error(loginError(error));
    });
  }

  private async handle(req: AuthRequest, options: AuthenticateOptions): Promise<void> {
    const session = req.session;
    if (typeof session !== 'object' || session === null) return this.error(sessionRequiredError());
    // A cookie-only koa-session would carry the token set to the browser.
    if (keepsRecordInCookie(session)) return this.error(cookieSessionError());
    if (isCookieOnlyExpressSession(req)) return this.error(serverSessionRequiredError());
    // The login writes the first record with tokens: from here on no save of a
    // logged-out session's copy reaches the store.
    gateStore(req.sessionStore ?? req.ctx?.sessionOptions?.store, this.engine);
    const query = callbackRequestQuery(req, this.argusOptions.callbackURL.pathname);
    if (query === undefined) return this.redirectToArgus(req, session, options);
    const attempt = new LoginAttempt(this.engine);
    return attempt.run(() => this.finishLogin(req, session, query, options, attempt));
  }

  private redirectToArgus(
    req: AuthRequest,
    session: SessionRecord,
    options: AuthenticateOptions,
  ): void {
    const opts = this.argusOptions;
    // The browser would drop the cookie and the callback would fail as "state unknown".
    if (secureCookieOverHttp(req)) {
      this.error(secureCookieOverHttpError());
      return;
    }
    // The page to come back to travels with this login only, so other tabs keep theirs.
    const returnTo = safeReturnTo(session.returnTo);
    delete session.returnTo;
    const started = startLogin(session, {
      pkce: opts.pkce,
      returnTo,
      now: Date.now(),
      limits: { maxAge: opts.loginTimeout, maxCount: opts.maxPendingLogins },
    });
    const extra = this.authorizationParams(options);
    const query = authorizeQuery(opts, extra, options.scope, started);
    noStore(req);
    log.strategy('redirecting to the Argus authorize page');
    // The authorize URL has no query or fragment of its own (see options).
    this.redirect(`${opts.authorizationURL.href}?${query}`);
  }

  private async finishLogin(
    req: AuthRequest,
    session: SessionRecord,
    query: CallbackQuery,
    options: AuthenticateOptions,
    attempt: LoginAttempt,
  ): Promise<void> {
    const params = query.params;
    noStore(req);
    bodylessRedirects(req);
    const opts = this.argusOptions;
    const state = single(params, 'state');
    if (state === undefined || state === null || !isWellFormedState(state)) {
      return this.refuse(attempt, 'the callback has no valid state', 400);
    }
    const limits = { maxAge: opts.loginTimeout, maxCount: opts.maxPendingLogins };
    const found = findLogin(session, state, Date.now(), limits);
    if (found === undefined) {
      // Another tab's login, arriving after this browser has logged in: its transaction
      // did not carry over (nothing of the pre-login session acts in the logged-in one),
      // so it lands on the app's page without an exchange and without switching users.
      const landing =
        readTokens(session) !== undefined && req.user != null
          ? takeLanding(session, state, Date.now(), limits)
          : undefined;
      if (landing !== undefined) {
        log.strategy('callback of an earlier login after the user logged in; no exchange');
        attempt.landed('landing');
        return this.redirect(successTarget(landing, options));
      }
      if (readLogins(session) === undefined && readTokens(session) === undefined) {
        // A copy of this callback (a double-click) whose first copy has logged the user in
        // and replaced the session since: it carries the replaced session's cookie, so its
        // session is empty. It lands as a copy does, and leaves the new session and its
        // cookie alone. (A replay in a session that holds anything is refused below.)
        if ((await this.engine.claimedOutcome(state)) === 'success') {
          attempt.landed('duplicate');
          return this.redirect(successTarget(undefined, options));
        }
        return this.cookieLost(attempt);
      }
      return this.refuse(attempt, 'the state is unknown, expired or already used', 400);
    }
    // Claim the state across instances before anything else is checked: copies of this
    // callback sent at once (a double-click, a retry) wait for the first one's outcome
    // instead of exchanging the one-time code again.
    const claim = await this.engine.claimLogin(state);
    if (!claim.won) {
      log.strategy('duplicate callback; the first copy %s', claim.outcome);
      if (claim.outcome === 'success') {
        attempt.landed('duplicate');
        return this.redirect(successTarget(found, options));
      }
      return this.refuse(attempt, 'the state was used by another copy of this callback', 400);
    }
    let succeeded = false;
    try {
      succeeded = await this.completeLogin(
        req,
        session,
        query,
        state,
        options,
        claim.settle,
        attempt,
      );
    } finally {
      if (!succeeded) claim.settle('failure');
    }
  }

  /**
   * The rest of the callback, by the one copy that claimed its state. Resolves true once
   * it has handed the user to passport (`settle('success')` follows the login itself).
   */
  private async completeLogin(
    req: AuthRequest,
    session: SessionRecord,
    query: CallbackQuery,
    state: string,
    options: AuthenticateOptions,
    settle: (outcome: 'success' | 'failure') => void,
    attempt: LoginAttempt,
  ): Promise<boolean> {
    const params = query.params;
    const opts = this.argusOptions;
    // Consume the transaction, so it cannot be replayed.
    const txn = consumeLogin(session, state, Date.now(), {
      maxAge: opts.loginTimeout,
      maxCount: opts.maxPendingLogins,
    });
    if (txn === undefined) {
      return this.refused(attempt, 'the state is unknown, expired or already used', 400);
    }
    if (hasBrokenEscape(query)) return this.refused(attempt, 'the callback is malformed', 400);
    const error = single(params, 'error');
    const code = single(params, 'code');
    if (error !== undefined) {
      if (error === null || code !== undefined)
        return this.refused(attempt, 'the callback is malformed', 400);
      // Argus's error_description is never shown: it is attacker-controllable text.
      return this.refused(
        attempt,
        `Argus refused the login (${/^[a-z_]{1,40}$/.test(error) ? error : 'error'})`,
        403,
        'argus-refused',
      );
    }
    if (
      code === undefined ||
      code === null ||
      code.length > MAX_PARAM ||
      !CODE_PATTERN.test(code)
    ) {
      return this.refused(attempt, 'the callback has no valid code', 400);
    }
    const clientIp = req.ip ?? req.socket?.remoteAddress;
    let tokens: ArgusTokenSet;
    let tokenParams: ArgusTokenParams | undefined;
    attempt.step = 'exchange';
    try {
      const extra = stringsOf(this.tokenParams(options));
      // The answer's own fields are read again only for a verify function that takes them.
      if (this.verifyStyle === 'oauth2-params') {
        // Observed by the breaker, never refused by it: the one-time code would be lost.
        ({ tokens, params: tokenParams } = await this.engine.breaker.observe(() =>
          this.client.exchangeCodeWithParams(code, txn.verifier, clientIp, extra),
        ));
      } else {
        tokens = await this.engine.breaker.observe(() =>
          this.client.exchangeCode(code, txn.verifier, clientIp, extra),
        );
      }
    } catch (err) {
      if (err instanceof ArgusError && err.code === ArgusErrorCode.REJECTED) {
        return this.refused(
          attempt,
          `Argus did not accept the code (${err.oauthError ?? err.argusStatus})`,
          401,
          'exchange-failed',
          err,
        );
      }
      attempt.failed('exchange-failed', err);
      this.error(loginError(err));
      return false;
    }
    attempt.step = 'profile';
    // Observed by its service's breaker (never refused: the code is spent), which it tells
    // whether that service answers.
    const profilePath = this.client.profilePath;
    const profile =
      profilePath === undefined
        ? undefined
        : await this.engine
            .apiBreaker(profilePath)
            .observe(() => this.client.profile(tokens.accessToken, clientIp));
    attempt.step = 'verify';
    const { user, info } = await runVerify(
      this.verifyFn,
      this.verifyStyle,
      this.argusOptions.passReqToCallback,
      req,
      tokens,
      tokenParams,
      profile,
    );
    if (!user) {
      attempt.failed('verify-refused');
      this.fail(info ?? { message: GENERIC_FAILURE }, 403);
      return false;
    }
    const landings = landingsOf(session, state, Date.now(), {
      maxAge: opts.loginTimeout,
      maxCount: opts.maxPendingLogins,
    });
    keepTokensAcrossLogin(req, tokens, txn, landings, () => settle('success'));
    // Without a session login (`session: false`) nothing regenerates: the outcome is known.
    if (options.session === false) settle('success');
    log.strategy('login complete');
    attempt.succeeded(user);
    this.success(user, info);
    return true;
  }

  /** {@link ArgusStrategy.refuse}, for the paths that report whether the login went on. */
  private refused(
    attempt: LoginAttempt,
    reason: string,
    status: number,
    why?: LoginFailureReason,
    error?: unknown,
  ): false {
    this.refuse(attempt, reason, status, why, error);
    return false;
  }

  /** The callback's session has no login under way and nobody logged in. */
  private cookieLost(attempt: LoginAttempt): void {
    const reason = cookieLostReason();
    attempt.failed('cookie-lost');
    log.strategy('login refused: %s', reason);
    if (!cookieLossReported.has(this.engine)) {
      cookieLossReported.add(this.engine);
      emitArgusWarning({
        code: ArgusWarningCode.COOKIE_LOST,
        message: `passport-argus: a login callback was refused because ${reason}.`,
      });
    }
    this.fail({ message: `The Argus login did not complete: ${reason}.` }, 400);
  }

  /**
   * Fails the login with the generic message; `reason` goes to the debug log only, `why`
   * (default `'callback-refused'`) to the `login-failed` event.
   */
  private refuse(
    attempt: LoginAttempt,
    reason: string,
    status: number,
    why: LoginFailureReason = 'callback-refused',
    error?: unknown,
  ): void {
    attempt.failed(why, error);
    log.strategy('login refused: %s', reason);
    this.fail({ message: GENERIC_FAILURE }, status);
  }
}

/** The `Retry-After` of a login that failed because Argus was unavailable, in seconds. */
const LOGIN_RETRY_AFTER = 5;

/**
 * The error passport hands the app for a login that could not finish. "Argus unavailable"
 * (a timeout, a reset, a 5xx) is a 503 with `Retry-After`, as on every other path.
 */
function loginError(error: unknown): Error {
  if (isUnavailable(error)) return unavailableError(error, LOGIN_RETRY_AFTER);
  return error instanceof Error ? error : new Error('ArgusStrategy failed');
}

/** Engines whose strategy already warned about a lost session cookie (once is enough). */
const cookieLossReported = new WeakSet<RefreshEngine>();

function stringsOf(value: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}
