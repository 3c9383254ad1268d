/**
 * ArgusStrategy: log in with Argus through the OAuth2 authorization code flow, with
 * `state` and PKCE, and leave the token set in the session that the login creates.
 */
import { inspect } from 'node:util';
import type { Request } from 'express';
import OAuth2Strategy from 'passport-oauth2';
import { ArgusClient } from './core/argus-client.ts';
import {
  secureCookieOverHttpError,
  serverSessionRequiredError,
  sessionRequiredError,
} from './core/errors.ts';
import { startLogin } from './core/login-transactions.ts';
import { log } from './core/log.ts';
import {
  type ArgusStrategyOptions,
  type ArgusStrategyOptionsWithRequest,
  type ResolvedOptions,
  resolveOptions,
} from './core/options.ts';
import { RefreshEngine } from './core/refresh-engine.ts';
import type { RefreshEngineStats } from './core/stats.ts';
import type { SessionRecord } from './core/session-record.ts';
import { gateStore } from './core/store-gate.ts';
import { TokenVault } from './core/token-vault.ts';
import { safeReturnTo } from './core/urls.ts';
import { cookieSessionError, keepsRecordInCookie } from './koa/session.ts';
import {
  type AuthRequest,
  isCookieOnlyExpressSession,
  secureCookieOverHttp,
  noStore,
  callbackRequestQuery,
} from './callback-http.ts';
import { authorizeQuery } from './authorize-query.ts';
import { LoginAttempt } from './login-attempt.ts';
import {
  type AuthenticateOptions,
  LoginCallback,
  loginError,
  type PassportActions,
  type VerifySettings,
} from './login-callback.ts';
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
  verifyStyleOf,
} from './verify.ts';

/**
 * What ArgusStrategy uses of passport-oauth2's `OAuth2Strategy`, and of the methods passport
 * adds to a strategy for each request. Declared here so that the published types need
 * neither `@types/passport-oauth2` nor `@types/oauth`, which apps do not install.
 */
interface OAuth2StrategyBase extends PassportActions {
  name: string;
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
  private readonly verify: VerifySettings;

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
    // Told once: the function's length cannot change the form from one login to the next.
    this.verify = {
      fn: verify,
      style: verify === undefined ? 'argus' : verifyStyleOf(verify, resolved),
    };
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
    const callback = new LoginCallback(this, this.verify);
    return attempt.run(() => callback.finish(req, session, query, options, attempt));
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
}
