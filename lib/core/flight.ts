/**
 * A refresh under way in this process, and the requests that wait for it. When Argus
 * hangs, the requests need not hang with it: once the call is judged slow (the breaker's
 * `slowCall`), every request waiting for it, and every later one for the same token set,
 * is answered at once as "Argus unavailable", while the call itself goes on in the
 * background, so that a late answer (under rotation, the only copy of the new refresh
 * token) is still kept and recorded.
 */
import { ArgusError, ArgusErrorCode } from './errors.ts';
import type { RefreshResult } from './refresh-engine.ts';

/**
 * What the requests waiting for a slow refresh are answered with: unavailable (status
 * 503), like a timeout, but the refresh has not failed; its outcome comes later.
 */
export class SlowRefreshError extends ArgusError {
  constructor(slowCall: number) {
    super(
      ArgusErrorCode.TIMEOUT,
      `Argus has not answered the token refresh within ${slowCall} ms; the refresh goes on in the background`,
      { status: 503 },
    );
  }
}

/** One refresh of one token set in this process. */
export class Flight {
  /** The access token of the set being replaced: who may join this flight. */
  readonly replaced: string;
  /** The refresh itself; settles when Argus and the store writes are done. */
  promise: Promise<RefreshResult> = new Promise(() => undefined);
  #slow: SlowRefreshError | undefined;
  readonly #released: Promise<never>;
  #release: ((error: SlowRefreshError) => void) | undefined;

  constructor(replaced: string) {
    this.replaced = replaced;
    this.#released = new Promise<never>((_, reject) => {
      this.#release = reject;
    });
    // Raced by every waiter; unobserved when the flight is never slow.
    this.#released.catch(() => undefined);
  }

  /** Whether the call was judged slow and its waiters were let go. */
  get isSlow(): boolean {
    return this.#slow !== undefined;
  }

  /** The call passed `slowCall` ms unanswered: every waiter is answered now. */
  markSlow(slowCall: number): void {
    if (this.#slow !== undefined) return;
    this.#slow = new SlowRefreshError(slowCall);
    this.#release?.(this.#slow);
  }

  /** `result`, or the slow error as soon as the call is judged slow. */
  wait(result: Promise<RefreshResult>): Promise<RefreshResult> {
    if (this.#slow !== undefined) return Promise.reject(this.#slow);
    return Promise.race([result, this.#released]);
  }
}
