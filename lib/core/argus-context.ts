/**
 * `req.argus` (Express) and `ctx.state.argus` (Koa): the logged-in user's Argus session
 * for one request. The protocol and the session rules live here; a framework subclass
 * only says how to reach the session, the user and the client IP.
 */
import type { ArgusApiInit } from './argus-client.ts';
import type { ArgusRequestContext, RenewOutcome } from './argus-request-context.ts';
import { verdictOfStatus } from './breaker-verdicts.ts';
import {
  ArgusError,
  ArgusErrorCode,
  isRejection,
  isUnavailable,
  unavailableError,
} from './errors.ts';
import { SlowRefreshError } from './flight.ts';
import { isJsonObject, unwrapEnvelope } from './http-client.ts';
import type { GuardSettings } from './guard-settings.ts';
import { log } from './log.ts';
import {
  type LogoutReason,
  type RefreshEngine,
  type RefreshHooks,
  SessionEndedError,
} from './refresh-engine.ts';
import { isCheckDue } from './session-check.ts';
import {
  clearTokens,
  readTokens,
  type SessionRecord,
  writeCheckedAt,
  writeTokens,
} from './session-record.ts';
import { destroyRecord, gateStore } from './store-gate.ts';
import type { ArgusSessionOutcome } from './events.ts';
import type { ArgusTokenSet } from './token-set.ts';
import type { StoredTokens, TokenTimes } from './token-vault.ts';
import { channels, type FetchTraceContext, type LogoutTraceContext, traced } from './tracing.ts';

export type { ArgusRequestContext, RenewOutcome } from './argus-request-context.ts';
export { isFresh } from './freshness.ts';

/**
 * The framework-free implementation of {@link ArgusRequestContext}. One instance per
 * request; its methods live on the prototype, so the fresh-token path allocates just
 * the instance.
 */
export abstract class ArgusContext implements ArgusRequestContext {
  protected readonly engine: RefreshEngine;
  protected readonly settings: GuardSettings;
  /** The token set this request opened, and the stored value it came from (opened once). */
  #opened: { from: StoredTokens; tokens: ArgusTokenSet } | undefined;

  constructor(engine: RefreshEngine, settings: GuardSettings) {
    this.engine = engine;
    this.settings = settings;
  }

  /** The session record of this request, if the session middleware loaded one. */
  protected abstract sessionRecord(): SessionRecord | undefined;
  /** A key shared by every request of this session (the session id). */
  protected abstract sessionKey(): string;
  /** The end user's IP. */
  protected abstract clientIp(): string | undefined;
  /** True for a page request (GET or HEAD asking for HTML). */
  protected abstract isPageRequest(): boolean;
  /** The logged-in user (for events). */
  protected abstract currentUser(): unknown;
  /** Writes the session record to the store now. */
  protected abstract saveSession(): Promise<void>;
  /** The session store, whose writes of logged-in records are gated by the logout check. */
  protected abstract sessionStore(): unknown;
  /**
   * The token set the session store holds now for this session, which another request or
   * instance may have renewed since this request loaded it: `null` when the store has no
   * record with tokens (the session is gone). Adapters that cannot read the store return
   * `undefined`; coordination then relies on recorded successors alone.
   */
  protected async storedTokens(): Promise<ArgusTokenSet | null | undefined> {
    return undefined;
  }
  /**
   * Logs out of passport, destroys the session record in the store and clears the
   * cookie. With `restart`, a new empty session takes its place (to carry a return path).
   */
  protected abstract endLocalSession(restart: boolean): Promise<void>;

  /**
   * The token set of a record read from the store for this session, opened: `null` when
   * it holds none, or one that does not open (which counts as logged out).
   */
  protected tokensOf(record: unknown): ArgusTokenSet | null {
    const stored = isJsonObject(record) ? readTokens(record) : undefined;
    return (stored && this.engine.vault.open(stored, this.sessionKey())) ?? null;
  }

  /**
   * The session's token set, opened (decrypted when sealed) the first time a token is
   * needed, not before: a request that only passes the guard decrypts nothing. A set that
   * does not open (sealed with a key this strategy lacks, for another session, or changed)
   * is dropped from the record, so that the session is saved without it: the user is
   * logged out, and a login is the way back.
   */
  #open(): ArgusTokenSet | undefined {
    const record = this.sessionRecord();
    const stored = readTokens(record);
    if (record === undefined || stored === undefined) return undefined;
    const opened = this.#opened;
    if (opened !== undefined && opened.from === stored) return opened.tokens;
    const tokens = this.engine.vault.open(stored, this.sessionKey());
    if (tokens === undefined) {
      clearTokens(record);
      log.guard('the stored token set does not open: treated as logged out');
      return undefined;
    }
    if (tokens !== stored) this.#opened = { from: stored, tokens };
    return tokens;
  }

  #tokens(): ArgusTokenSet {
    const tokens = this.#open();
    if (tokens === undefined) throw loginRequired();
    return tokens;
  }

  /** The token set's times, which are readable without opening it. */
  #times(): TokenTimes {
    const stored = readTokens(this.sessionRecord());
    if (stored === undefined) throw loginRequired();
    return stored;
  }

  get accessToken(): string {
    return this.#tokens().accessToken;
  }

  get expiresAt(): Date {
    return new Date(this.#times().expiresAt);
  }

  /**
   * Makes sure the session has a usable token: refreshes inside the refresh window (or
   * always, with `force`), logs out on a rejection or a passed refresh timeout, and keeps
   * the session when Argus is unavailable.
   */
  async ensureFresh(force = false): Promise<RenewOutcome> {
    const record = this.sessionRecord();
    const times = readTokens(record);
    if (record === undefined || times === undefined)
      return { type: 'logged_out', reason: 'expired' };
    const now = Date.now();
    const { refreshTimeout } = this.settings;
    if (refreshTimeout !== undefined && now - times.obtainedAt >= refreshTimeout) {
      // Argus would reject this refresh anyway; do not spend a call on it.
      return this.#logOut('refresh_timeout');
    }
    if (!force && times.expiresAt - now > this.settings.refreshWindow) {
      return this.#checkIfDue(record, times, now);
    }
    // A refresh needs the tokens themselves: opened here, and a set that does not open is
    // answered as no set at all.
    const tokens = this.#open();
    if (tokens === undefined) return { type: 'logged_out', reason: 'expired' };
    if (tokens.refreshToken === undefined) {
      return tokens.expiresAt > now
        ? this.#checkIfDue(record, times, now)
        : this.#logOut('expired');
    }
    const user = this.currentUser();
    gateStore(this.sessionStore(), this.engine);
    const started = performance.now();
    try {
      const hooks: RefreshHooks = {
        reload: () => this.storedTokens(),
        persist: async (next) => {
          const record = this.sessionRecord();
          if (record === undefined) return;
          writeTokens(record, next);
          await this.saveSession();
        },
        // This request was let go while Argus was slow: the refresh's own outcome is told
        // once it has one (the answer itself is already kept and stored by the engine).
        late: (outcome) => this.#tellLate(outcome, user, tokens, started),
      };
      const { tokens: next, leader } = await this.engine.refresh(
        this.sessionKey(),
        tokens,
        this.clientIp(),
        hooks,
      );
      // Every request writes the new set into its own copy of the session, so none of
      // them saves the replaced tokens back over it when it ends. (Those saves pass the
      // store gate: none lands after a logout.)
      const current = this.sessionRecord();
      if (current === undefined) return { type: 'logged_out', reason: 'ended' };
      writeTokens(current, next);
      if (leader) {
        const expiresAt = new Date(next.expiresAt);
        this.engine.emit('refresh', { user, expiresAt, durationMs: performance.now() - started });
      }
      return { type: 'ok' };
    } catch (error) {
      if (error instanceof SessionEndedError) {
        // Logged out by another request or instance, which emitted the event: only this
        // request's view of the session ends here.
        await this.endLocalSession(this.isPageRequest());
        return { type: 'logged_out', reason: 'ended' };
      }
      if (isRejection(error)) return this.#logOut('rejected');
      // Not tried at all (the breaker is open): nothing failed that `breaker-open` has not
      // told already, so no `refresh-failed` per request. Let go while Argus is slow:
      // nothing failed yet, and `late` tells the outcome.
      const tried =
        codeOf(error) !== ArgusErrorCode.BREAKER_OPEN && !(error instanceof SlowRefreshError);
      const typed = this.#refreshUnavailable(error);
      const stillValid = tokens.expiresAt > Date.now();
      log.refresh(
        'refresh failed (%s); token %s',
        typed.code,
        stillValid ? 'still valid' : 'expired',
      );
      if (tried) {
        this.engine.emit('refresh-failed', {
          user,
          error: typed,
          tokenStillValid: stillValid,
          durationMs: performance.now() - started,
        });
      }
      return stillValid && !force ? { type: 'ok' } : { type: 'unavailable', error: typed };
    }
  }

  /** A refresh's failure as the "Argus unavailable" error the app and events see. */
  #refreshUnavailable(error: unknown): ArgusError {
    return unavailableError(
      error instanceof ArgusError
        ? error
        : new ArgusError(ArgusErrorCode.NETWORK, 'The Argus token refresh failed', {
            cause: error,
          }),
      Number(this.settings.retryAfterSeconds),
    );
  }

  /** The outcome of a refresh that outlasted this request's wait (see `RefreshHooks.late`). */
  #tellLate(
    outcome: { tokens: ArgusTokenSet } | { error: unknown },
    user: unknown,
    replaced: ArgusTokenSet,
    started: number,
  ): void {
    const durationMs = performance.now() - started;
    if ('tokens' in outcome) {
      const expiresAt = new Date(outcome.tokens.expiresAt);
      this.engine.emit('refresh', { user, expiresAt, durationMs });
      return;
    }
    // Logged out meanwhile: whoever ended the session has told it.
    if (outcome.error instanceof SessionEndedError) return;
    if (isRejection(outcome.error)) {
      // Argus ended the session while nobody waited: it ends here too, now, not at the
      // next refresh (which an open breaker could put off while the token is still valid).
      this.#logOut('rejected', true).catch((error: unknown) =>
        this.engine.report('logging out a session Argus rejected late', error),
      );
      return;
    }
    this.engine.emit('refresh-failed', {
      user,
      error: this.#refreshUnavailable(outcome.error),
      tokenStillValid: replaced.expiresAt > Date.now(),
      durationMs,
    });
  }

  /**
   * With `sessionCheckInterval`, asks Argus whether the session is still alive once the
   * interval has passed since it last vouched for it (a check, a login or a refresh).
   */
  async #checkIfDue(record: SessionRecord, times: TokenTimes, now: number): Promise<RenewOutcome> {
    const interval = this.settings.sessionCheckInterval;
    if (interval === undefined || !isCheckDue(record, times, now, interval)) return { type: 'ok' };
    // The check needs the token itself: opened here (decrypted when sealed), not before.
    const tokens = this.#open();
    if (tokens === undefined) return { type: 'logged_out', reason: 'expired' };
    const check = await this.engine.sessionChecks.check(
      this.sessionKey(),
      tokens.accessToken,
      this.clientIp(),
    );
    if (check.state === 'valid') {
      // Into this request's copy: the session middleware saves the changed record when the
      // request ends (through the store gate), and every instance reads it from there.
      const current = this.sessionRecord();
      if (current !== undefined) writeCheckedAt(current, check.at);
      return { type: 'ok' };
    }
    // Argus unavailable, the breaker open, or an answer that says nothing: the session is
    // kept, and the next request after the interval asks again.
    if (check.state === 'unknown') return { type: 'ok' };
    // Argus has ended the session: logged out as after a rejected refresh, once; the
    // requests that shared the check only end their own view of the session.
    if (check.leader) return this.#logOut('rejected');
    await this.endLocalSession(this.isPageRequest());
    return { type: 'logged_out', reason: 'ended' };
  }

  /**
   * Logs the session out: marks it ended, destroys its record, and (unless `answered`, for
   * a request already answered) ends this request's own view of it.
   */
  #logOut(reason: LogoutReason, answered = false): Promise<RenewOutcome> {
    if (!channels.logout.hasSubscribers) return this.#logOutNow(reason, answered);
    // No Argus call: Argus ended the session, or will refuse its token anyway.
    const context: LogoutTraceContext = { reason, argusSession: 'not-called' };
    return traced(channels.logout, context, () => this.#logOutNow(reason, answered));
  }

  async #logOutNow(reason: LogoutReason, answered: boolean): Promise<RenewOutcome> {
    const started = performance.now();
    const user = this.currentUser();
    // Marked before the record is destroyed: a refresh that lands in between writes nothing.
    const key = this.sessionKey();
    await this.engine.endSession(key, () => destroyRecord(this.sessionStore(), key));
    // A page request goes on to the login page, which needs a session for its return path.
    // A request already answered has no view left to end: the record itself goes.
    if (answered) await destroyRecord(this.sessionStore(), key);
    else await this.endLocalSession(this.isPageRequest());
    log.logout('logged out (%s)', reason);
    const durationMs = performance.now() - started;
    this.engine.emit('logout', { user, reason, argusSession: 'not-called', durationMs });
    return { type: 'logged_out', reason };
  }

  fetch(path: string, init: ArgusApiInit = {}): Promise<Response> {
    if (!channels.fetch.hasSubscribers) return this.#fetch(path, init, undefined);
    const context: FetchTraceContext = {
      method: init.method ?? 'GET',
      path: typeof path === 'string' ? (path.split(/[?#]/)[0] ?? '') : '',
      retried: false,
    };
    return traced(channels.fetch, context, () => this.#fetch(path, init, context), settleFetch);
  }

  async #fetch(path: string, init: ArgusApiInit, trace?: FetchTraceContext): Promise<Response> {
    const first = await this.#api(path, init);
    if (first.status !== 401) return first;
    const outcome = await this.ensureFresh(true);
    if (outcome.type === 'logged_out') throw sessionExpired();
    if (outcome.type === 'unavailable') throw outcome.error;
    if (trace !== undefined) trace.retried = true;
    const second = await this.#api(path, init);
    if (second.status !== 401) return second;
    // A freshly refreshed token refused too: Argus has ended this session (the user logged
    // out of Argus after the refresh, or another instance's refresh was the last one).
    await second.body?.cancel().catch(() => undefined);
    await this.#logOut('rejected');
    throw sessionExpired();
  }

  /** One API call; "Argus unavailable" becomes the same 503 + `Retry-After` as the guard's. */
  async #api(path: string, init: ArgusApiInit): Promise<Response> {
    try {
      const { engine } = this;
      const token = this.#tokens().accessToken;
      // A 502, 503 or 504 counts as Argus down; any other answer as Argus up.
      return await engine.apiBreaker(path).call(
        () => engine.client.api(path, init, token, this.clientIp()),
        (response) => verdictOfStatus(response.status),
      );
    } catch (error) {
      throw isUnavailable(error) ? unavailableError(error, this.#retryAfter()) : error;
    }
  }

  #retryAfter(): number {
    return Number(this.settings.retryAfterSeconds);
  }

  async json<T = unknown>(path: string, init: ArgusApiInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    const purpose = `API call ${init.method ?? 'GET'} ${path.split('?')[0]}`;
    const text = await response.text();
    let body: unknown;
    let isJson = true;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      isJson = false;
    }
    // An error status is an HTTP error whatever its body (a proxy's HTML page, say). No
    // parser error as cause: its message quotes the body.
    if (response.ok && !isJson) {
      throw new ArgusError(
        ArgusErrorCode.BAD_RESPONSE,
        `Argus answered the ${purpose} with a body that is not JSON`,
        { argusStatus: response.status },
      );
    }
    // Argus answers objects (its envelope, or flat JSON such as userinfo); an empty body is
    // `undefined`. null, an array or a bare value is not an Argus answer.
    if (response.ok && body !== undefined && !isJsonObject(body)) {
      throw new ArgusError(
        ArgusErrorCode.BAD_RESPONSE,
        `Argus answered the ${purpose} with JSON that is not an object`,
        { argusStatus: response.status },
      );
    }
    if (!response.ok) {
      throw new ArgusError(
        ArgusErrorCode.HTTP,
        `Argus answered the ${purpose} with status ${response.status}`,
        {
          argusStatus: response.status,
          status: response.status >= 500 ? 503 : 502,
          response: body,
          ...(response.status >= 500 ? { retryAfter: this.#retryAfter() } : {}),
        },
      );
    }
    return (
      isJsonObject(body) && 'responseCode' in body
        ? unwrapEnvelope(body, purpose, response.status)
        : body
    ) as T;
  }

  async refresh(): Promise<void> {
    const outcome = await this.ensureFresh(true);
    if (outcome.type === 'logged_out') throw sessionExpired();
    if (outcome.type === 'unavailable') throw outcome.error;
  }

  logout(): Promise<void> {
    if (!channels.logout.hasSubscribers) return this.#logout(undefined);
    const context: LogoutTraceContext = { reason: 'user' };
    return traced(channels.logout, context, () => this.#logout(context));
  }

  async #logout(trace: LogoutTraceContext | undefined): Promise<void> {
    const started = performance.now();
    const tokens = this.#open();
    const user = this.currentUser();
    const key = this.sessionKey();
    gateStore(this.sessionStore(), this.engine);
    const argusSession =
      tokens === undefined ? 'not-called' : await this.#endArgusSession(key, tokens);
    if (trace !== undefined) trace.argusSession = argusSession;
    // Marked before the record is destroyed: a refresh or a late save of another
    // request's copy that lands in between writes nothing.
    await this.engine.endSession(key, () => destroyRecord(this.sessionStore(), key));
    await this.endLocalSession(false);
    if (tokens !== undefined || user != null) {
      const durationMs = performance.now() - started;
      this.engine.emit('logout', { user, reason: 'user', argusSession, durationMs });
    }
  }

  /**
   * Ends the Argus session, whatever the access token's age: an expired token is
   * refreshed first (through the engine, so no refresh under way is duplicated), since
   * Argus answers an expired token's `DELETE` with 401 while the refresh token still
   * works. Best effort and bounded by the timeout as a whole: Argus being down never
   * blocks a local logout. Resolves with what became of the Argus session.
   */
  async #endArgusSession(key: string, tokens: ArgusTokenSet): Promise<ArgusSessionOutcome> {
    const ip = this.clientIp();
    const engine = this.engine;
    // Until the work says otherwise: the timeout won, so Argus could not be reached in time.
    let outcome: ArgusSessionOutcome = 'failed';
    const work = async () => {
      let current = tokens;
      if (current.expiresAt <= Date.now() + 1000 && current.refreshToken !== undefined) {
        const hooks: RefreshHooks = {
          reload: () => this.storedTokens(),
          // The session is about to end: nothing to save.
          persist: async () => undefined,
        };
        try {
          current = (await engine.refresh(key, current, ip, hooks)).tokens;
        } catch (error) {
          // Rejected: the Argus session has ended already. Unavailable: nothing to end with.
          log.logout('refresh before the Argus logout failed (%s)', codeOf(error));
          outcome = isUnavailable(error) ? 'failed' : 'not-called';
          return;
        }
      }
      // While the breaker is open this is refused at once: the local logout does not wait,
      // and the Argus session ends by itself when its tokens expire.
      await engine.breaker.call(() => engine.client.endSession(current.accessToken, ip));
      outcome = 'ended';
    };
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, engine.client.options.timeout);
    });
    await Promise.race([
      work().catch((error: unknown) => {
        log.logout('Argus session end failed (%s); logging out here anyway', codeOf(error));
      }),
      limit,
    ]).finally(() => clearTimeout(timer));
    return outcome;
  }
}

/** Completes a fetch's trace with the status of the answer handed to the app. */
function settleFetch(context: FetchTraceContext, response: Response | undefined): void {
  if (response !== undefined) context.status = response.status;
}

function codeOf(error: unknown): string {
  return (error as ArgusError | undefined)?.code ?? 'error';
}

function loginRequired(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.LOGIN_REQUIRED,
    'No Argus user is logged in on this session',
  );
}

function sessionExpired(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.SESSION_EXPIRED,
    'The Argus session has ended (Argus rejected the refresh); the user was logged out',
  );
}
