/**
 * The login callback: the one-time claim of its `state`, the checks of its parameters,
 * the code exchange, the profile, the app's verify function, and the hand-over to
 * passport with the token set kept across the session that passport's login creates.
 * Run by ArgusStrategy for each callback request; everything it answers goes through
 * passport's per-request actions (`success`, `fail`, `redirect`, `error`).
 */
import type { ArgusClient, ArgusTokenParams } from './core/argus-client.ts';
import {
  ArgusError,
  ArgusErrorCode,
  cookieLostReason,
  isUnavailable,
  unavailableError,
} from './core/errors.ts';
import type { LoginFailureReason } from './core/events.ts';
import {
  consumeLogin,
  findLogin,
  isWellFormedState,
  landingsOf,
  takeLanding,
} from './core/login-transactions.ts';
import { log } from './core/log.ts';
import type { ResolvedOptions, VerifyStyle } from './core/options.ts';
import type { RefreshEngine } from './core/refresh-engine.ts';
import { readLogins, readTokens, type SessionRecord } from './core/session-record.ts';
import type { ArgusTokenSet } from './core/token-set.ts';
import { ArgusWarningCode, emitArgusWarning } from './core/warnings.ts';
import {
  type AuthRequest,
  bodylessRedirects,
  MAX_PARAM,
  noStore,
  single,
} from './callback-http.ts';
import { type CallbackQuery, hasBrokenEscape } from './callback-query.ts';
import type { LoginAttempt } from './login-attempt.ts';
import { keepTokensAcrossLogin, successTarget } from './login-session.ts';
import { type AnyVerify, runVerify } from './verify.ts';

/** Options passed to `passport.authenticate('argus', options)` that the strategy reads. */
export interface AuthenticateOptions {
  scope?: string | string[];
  [key: string]: unknown;
}

/** What passport adds to a strategy for each request: the ways a login can end. */
export interface PassportActions {
  /** The login succeeded as `user`. */
  success(user: Express.User, info?: object): void;
  /** The login failed (the user's side), with `status`. */
  fail(challenge?: object | string | number, status?: number): void;
  /** Send the browser to `url`. */
  redirect(url: string, status?: number): void;
  /** The login could not be finished (our side or Argus's). */
  error(error: Error): void;
}

/**
 * The strategy as passport runs it for one request: its parts, and passport's actions
 * for this request (passport adds them to a per-request copy of the strategy).
 */
export interface CallbackHost extends PassportActions {
  /** The strategy's engine: login claims, breakers, events. */
  readonly engine: RefreshEngine;
  /** The strategy's Argus client: the code exchange and the profile. */
  readonly client: ArgusClient;
  /** The strategy's validated options. */
  readonly argusOptions: ResolvedOptions;
  /** Extra parameters for the token request (the strategy's extension point). */
  tokenParams(options: unknown): object;
}

/** The app's verify function and the form it was told to be in, once per strategy. */
export interface VerifySettings {
  /** The app's verify function, if it gave one. */
  readonly fn: AnyVerify | undefined;
  /** Which of the verify forms `fn` takes. */
  readonly style: VerifyStyle;
}

const GENERIC_FAILURE = 'The Argus login did not complete. Please try again.';
const CODE_PATTERN = /^[\x21-\x7e]+$/;

/** One login callback, finished or refused. Made for one request; never shared. */
export class LoginCallback {
  readonly #host: CallbackHost;
  readonly #verify: VerifySettings;

  /** A callback run by `host` (passport's per-request copy of the strategy). */
  constructor(host: CallbackHost, verify: VerifySettings) {
    this.#host = host;
    this.#verify = verify;
  }

  /** Finishes the login of this callback, or refuses it. Failures go to passport. */
  async finish(
    req: AuthRequest,
    session: SessionRecord,
    query: CallbackQuery,
    options: AuthenticateOptions,
    attempt: LoginAttempt,
  ): Promise<void> {
    const params = query.params;
    noStore(req);
    bodylessRedirects(req);
    const opts = this.#host.argusOptions;
    const state = single(params, 'state');
    if (state === undefined || state === null || !isWellFormedState(state)) {
      return this.#refuse(attempt, 'the callback has no valid state', 400);
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
        return this.#host.redirect(successTarget(landing, options));
      }
      if (readLogins(session) === undefined && readTokens(session) === undefined) {
        // A copy of this callback (a double-click) whose first copy has logged the user in
        // and replaced the session since: it carries the replaced session's cookie, so its
        // session is empty. It lands as a copy does, and leaves the new session and its
        // cookie alone. (A replay in a session that holds anything is refused below.)
        if ((await this.#host.engine.claimedOutcome(state)) === 'success') {
          attempt.landed('duplicate');
          return this.#host.redirect(successTarget(undefined, options));
        }
        return this.#cookieLost(attempt);
      }
      return this.#refuse(attempt, 'the state is unknown, expired or already used', 400);
    }
    // Claim the state across instances before anything else is checked: copies of this
    // callback sent at once (a double-click, a retry) wait for the first one's outcome
    // instead of exchanging the one-time code again.
    const claim = await this.#host.engine.claimLogin(state);
    if (!claim.won) {
      log.strategy('duplicate callback; the first copy %s', claim.outcome);
      if (claim.outcome === 'success') {
        attempt.landed('duplicate');
        return this.#host.redirect(successTarget(found, options));
      }
      return this.#refuse(attempt, 'the state was used by another copy of this callback', 400);
    }
    let succeeded = false;
    try {
      succeeded = await this.#complete(req, session, query, state, options, claim.settle, attempt);
    } finally {
      if (!succeeded) claim.settle('failure');
    }
  }

  /**
   * The rest of the callback, by the one copy that claimed its state. Resolves true once
   * it has handed the user to passport (`settle('success')` follows the login itself).
   */
  async #complete(
    req: AuthRequest,
    session: SessionRecord,
    query: CallbackQuery,
    state: string,
    options: AuthenticateOptions,
    settle: (outcome: 'success' | 'failure') => void,
    attempt: LoginAttempt,
  ): Promise<boolean> {
    const params = query.params;
    const opts = this.#host.argusOptions;
    // Consume the transaction, so it cannot be replayed.
    const txn = consumeLogin(session, state, Date.now(), {
      maxAge: opts.loginTimeout,
      maxCount: opts.maxPendingLogins,
    });
    if (txn === undefined) {
      return this.#refused(attempt, 'the state is unknown, expired or already used', 400);
    }
    if (hasBrokenEscape(query)) return this.#refused(attempt, 'the callback is malformed', 400);
    const error = single(params, 'error');
    const code = single(params, 'code');
    if (error !== undefined) {
      if (error === null || code !== undefined)
        return this.#refused(attempt, 'the callback is malformed', 400);
      // Argus's error_description is never shown: it is attacker-controllable text.
      return this.#refused(
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
      return this.#refused(attempt, 'the callback has no valid code', 400);
    }
    const clientIp = req.ip ?? req.socket?.remoteAddress;
    let tokens: ArgusTokenSet;
    let tokenParams: ArgusTokenParams | undefined;
    attempt.step = 'exchange';
    try {
      const extra = stringsOf(this.#host.tokenParams(options));
      // The answer's own fields are read again only for a verify function that takes them.
      if (this.#verify.style === 'oauth2-params') {
        // Observed by the breaker, never refused by it: the one-time code would be lost.
        ({ tokens, params: tokenParams } = await this.#host.engine.breaker.observe(() =>
          this.#host.client.exchangeCodeWithParams(code, txn.verifier, clientIp, extra),
        ));
      } else {
        tokens = await this.#host.engine.breaker.observe(() =>
          this.#host.client.exchangeCode(code, txn.verifier, clientIp, extra),
        );
      }
    } catch (err) {
      if (err instanceof ArgusError && err.code === ArgusErrorCode.REJECTED) {
        return this.#refused(
          attempt,
          `Argus did not accept the code (${err.oauthError ?? err.argusStatus})`,
          401,
          'exchange-failed',
          err,
        );
      }
      attempt.failed('exchange-failed', err);
      this.#host.error(loginError(err));
      return false;
    }
    attempt.step = 'profile';
    // Observed by its service's breaker (never refused: the code is spent), which it tells
    // whether that service answers.
    const profilePath = this.#host.client.profilePath;
    const profile =
      profilePath === undefined
        ? undefined
        : await this.#host.engine
            .apiBreaker(profilePath)
            .observe(() => this.#host.client.profile(tokens.accessToken, clientIp));
    attempt.step = 'verify';
    const { user, info } = await runVerify(
      this.#verify.fn,
      this.#verify.style,
      this.#host.argusOptions.passReqToCallback,
      req,
      tokens,
      tokenParams,
      profile,
    );
    if (!user) {
      attempt.failed('verify-refused');
      this.#host.fail(info ?? { message: GENERIC_FAILURE }, 403);
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
    this.#host.success(user, info);
    return true;
  }

  /** `#refuse`, for the paths that report whether the login went on. */
  #refused(
    attempt: LoginAttempt,
    reason: string,
    status: number,
    why?: LoginFailureReason,
    error?: unknown,
  ): false {
    this.#refuse(attempt, reason, status, why, error);
    return false;
  }

  /** The callback's session has no login under way and nobody logged in. */
  #cookieLost(attempt: LoginAttempt): void {
    const reason = cookieLostReason();
    attempt.failed('cookie-lost');
    log.strategy('login refused: %s', reason);
    if (!cookieLossReported.has(this.#host.engine)) {
      cookieLossReported.add(this.#host.engine);
      emitArgusWarning({
        code: ArgusWarningCode.COOKIE_LOST,
        message: `passport-argus: a login callback was refused because ${reason}.`,
      });
    }
    this.#host.fail({ message: `The Argus login did not complete: ${reason}.` }, 400);
  }

  /**
   * Fails the login with the generic message; `reason` goes to the debug log only, `why`
   * (default `'callback-refused'`) to the `login-failed` event.
   */
  #refuse(
    attempt: LoginAttempt,
    reason: string,
    status: number,
    why: LoginFailureReason = 'callback-refused',
    error?: unknown,
  ): void {
    attempt.failed(why, error);
    log.strategy('login refused: %s', reason);
    this.#host.fail({ message: GENERIC_FAILURE }, status);
  }
}

/** The `Retry-After` of a login that failed because Argus was unavailable, in seconds. */
const LOGIN_RETRY_AFTER = 5;

/**
 * The error passport hands the app for a login that could not finish. "Argus unavailable"
 * (a timeout, a reset, a 5xx) is a 503 with `Retry-After`, as on every other path.
 */
export function loginError(error: unknown): Error {
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
