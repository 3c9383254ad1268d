/**
 * One login callback as operators see it: how long it took and how it ended, told once as
 * a `login` or `login-failed` event and, while an APM agent subscribes, as the
 * `passport-argus:login` trace around the whole callback.
 */
import { isArgusError } from './core/errors.ts';
import type { LoginFailureReason } from './core/events.ts';
import type { RefreshEngine } from './core/refresh-engine.ts';
import { channels, type LoginTraceContext, outcomeOf, traced } from './core/tracing.ts';

/** The steps of a callback; an error thrown out of one is reported as `<step>-failed`. */
export type LoginStep = 'callback' | 'exchange' | 'profile' | 'verify';

/** The report of one login callback. One per callback request; never shared. */
export class LoginAttempt {
  readonly #engine: RefreshEngine;
  readonly #started = performance.now();
  /** Only while someone subscribes to the login channel. */
  readonly #trace: LoginTraceContext | undefined;
  #told = false;
  /** The step under way, named in the reason of an error thrown out of it. */
  step: LoginStep = 'callback';

  constructor(engine: RefreshEngine) {
    this.#engine = engine;
    this.#trace = channels.login.hasSubscribers ? {} : undefined;
  }

  /** Runs the callback's work, traced while someone subscribes; reports what it throws. */
  run(work: () => Promise<void>): Promise<void> {
    if (this.#trace === undefined) return this.#reported(work);
    return traced(channels.login, this.#trace, () => this.#reported(work));
  }

  /** `work()`, with what it throws reported as the failure of the step under way. */
  #reported(work: () => Promise<void>): Promise<void> {
    return work().catch((error: unknown) => {
      this.failed(`${this.step}-failed`, error);
      throw error;
    });
  }

  /** The user logged in. */
  succeeded(user: unknown): void {
    if (!this.#tell('success')) return;
    this.#engine.emit('login', { user, durationMs: this.#elapsed() });
  }

  /**
   * The callback went to the app's page without a login of its own: an earlier login's
   * callback after the user logged in (`'landing'`), or a copy of a callback whose first
   * copy logged the user in (`'duplicate'`). No event: nobody logged in or failed to.
   */
  landed(kind: 'landing' | 'duplicate'): void {
    this.#tell(kind);
  }

  /** No one was logged in, for `reason`; `error` when one was thrown or made. */
  failed(reason: LoginFailureReason, error?: unknown): void {
    const trace = this.#trace;
    if (!this.#tell(error === undefined ? refusalOutcome(reason) : outcomeOf(error))) return;
    if (trace !== undefined) {
      trace.reason = reason;
      if (isArgusError(error)) trace.errorCode = error.code;
    }
    const durationMs = this.#elapsed();
    this.#engine.emit(
      'login-failed',
      error === undefined ? { reason, durationMs } : { reason, durationMs, error },
    );
  }

  /** Records the outcome once; false when it was told already (a later path adds nothing). */
  #tell(outcome: NonNullable<LoginTraceContext['outcome']>): boolean {
    if (this.#told) return false;
    this.#told = true;
    if (this.#trace !== undefined) this.#trace.outcome = outcome;
    return true;
  }

  #elapsed(): number {
    return performance.now() - this.#started;
  }
}

/** The outcome of a failure that came with no error: Argus said no, or we did. */
function refusalOutcome(reason: LoginFailureReason): 'rejected' | 'refused' {
  return reason === 'argus-refused' ? 'rejected' : 'refused';
}
