/**
 * The events of a strategy's sessions, and an emitter whose listeners cannot change what
 * the user gets: a listener that throws (or rejects) is reported, and the next listener
 * and the request go on as if it had not been there.
 */
import { EventEmitter } from 'node:events';
import type { ArgusError } from './errors.ts';
import { log } from './log.ts';

/** Why a user was logged out. */
export type LogoutReason =
  /** Argus rejected the refresh (`invalid_grant`, 401, 403). */
  | 'rejected'
  /** The refresh timeout passed without a refresh. */
  | 'refresh_timeout'
  /** The token expired and there was no refresh token. */
  | 'expired'
  /** The user or the app asked for it (`argusLogout`, `req.argus.logout()`). */
  | 'user'
  /**
   * Another request or instance had already logged the session out (its `logout` event
   * was emitted there); this request only found it so.
   */
  | 'ended';

/** Who found out: this process, or another instance through the coordinator. */
export type BreakerSource = 'local' | 'shared';

/**
 * Why a login callback did not log anyone in, in the order a callback meets them.
 */
export type LoginFailureReason =
  /** The callback itself was refused: no valid state, an unknown or used one, no valid code. */
  | 'callback-refused'
  /** The session cookie did not come back with the callback (its login is not known). */
  | 'cookie-lost'
  /** Argus sent the user back with an OAuth `error` (the user said no, or Argus did). */
  | 'argus-refused'
  /** The code exchange failed: Argus rejected the code, was unavailable, or answered badly. */
  | 'exchange-failed'
  /** The profile request after the exchange failed. */
  | 'profile-failed'
  /** The verify function answered with no user. */
  | 'verify-refused'
  /** The verify function threw or passed an error. */
  | 'verify-failed'
  /** Something else failed before the exchange (the store that claims the state, say). */
  | 'callback-failed';

/**
 * What became of the Argus session at a logout: `'ended'` (Argus ended it), `'failed'`
 * (Argus could not be reached in time; the user was logged out here anyway), or
 * `'not-called'` (no call was needed: Argus had ended it already, or there was no token).
 */
export type ArgusSessionOutcome = 'ended' | 'failed' | 'not-called';

/**
 * The events an `ArgusStrategy` emits on `strategy.events`. None carries a token, a code,
 * a verifier, a secret or a session id. Durations are in milliseconds, measured with the
 * monotonic clock.
 */
export interface ArgusEvents {
  /** A user logged in; `durationMs` is the whole callback, exchange and profile included. */
  login: [{ user: unknown; durationMs: number }];
  /**
   * A login callback did not log anyone in, with the reason and, when one was thrown or
   * made, the error (an `ArgusError` for anything Argus did).
   */
  'login-failed': [{ reason: LoginFailureReason; durationMs: number; error?: unknown }];
  /**
   * A token set was refreshed with Argus (once per refresh call, not per waiting request);
   * `durationMs` is the refresh's time from its request's start, lock and Argus call
   * included. A refresh whose requests were let go while Argus was slow (`breaker.slowCall`)
   * is told when its answer lands, as is a late `refresh-failed`.
   */
  refresh: [{ user: unknown; expiresAt: Date; durationMs: number }];
  /** A refresh failed because Argus (or the coordination store) was unavailable; the session was kept. */
  'refresh-failed': [
    { user: unknown; error: ArgusError; tokenStillValid: boolean; durationMs: number },
  ];
  /**
   * A user was logged out, with the reason and what became of the Argus session. Emitted
   * once, where the logout happened.
   */
  logout: [
    { user: unknown; reason: LogoutReason; argusSession: ArgusSessionOutcome; durationMs: number },
  ];
  /**
   * An Argus service failed `breaker.failures` calls in a row (`source: 'local'`), or
   * another instance sharing the coordinator found so (`'shared'`): calls to it stop but for
   * one probe per `breaker.probeInterval`. `service` is `'authentication'` for the session's
   * own calls (refreshes, session checks, logout), else the API service (the first segment
   * of the API path). Emitted once per opening, in each process that opens.
   */
  'breaker-open': [{ failures: number; source: BreakerSource; service: string }];
  /**
   * A probe succeeded (`source: 'local'`), or another instance's did (`'shared'`): calls to
   * the service go on again. `downFor` is how long this process had its breaker open, in ms.
   */
  'breaker-close': [{ downFor: number; source: BreakerSource; service: string }];
  /**
   * Something went wrong that changed nothing for the user but that operators should see:
   * a listener threw, or a coordination write failed and is being retried.
   */
  problem: [{ what: string; error: unknown }];
}

type Listener = (...args: unknown[]) => unknown;

/**
 * An `EventEmitter` that isolates its listeners: each is called in turn, and one that
 * throws or returns a rejected promise is reported as a `problem` event (or, with nobody
 * listening for those, a process warning) instead of breaking the caller.
 */
export class IsolatedEmitter<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature is generic over T
  override emit(event: any, ...args: any[]): boolean {
    const listeners = this.rawListeners(event) as Listener[];
    if (listeners.length === 0) return false;
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args);
        if (isThenable(result))
          result.then(undefined, (error) => this.report(`a "${String(event)}" listener`, error));
      } catch (error) {
        this.report(`a "${String(event)}" listener`, error);
      }
    }
    return true;
  }

  /** Reports a problem that must not reach the request: a `problem` event, else a warning. */
  report(what: string, error: unknown): void {
    log.events('%s failed: %s', what, error instanceof Error ? error.message : 'error');
    const listeners = this.rawListeners('problem' as never) as unknown as Listener[];
    if (listeners.length === 0) {
      warn(what, error);
      return;
    }
    for (const listener of listeners) {
      try {
        listener.call(this, { what, error });
      } catch (again) {
        warn('a "problem" listener', again);
      }
    }
  }
}

function warn(what: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`passport-argus: ${what} failed: ${message}`, {
    code: 'PASSPORT_ARGUS_PROBLEM',
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
