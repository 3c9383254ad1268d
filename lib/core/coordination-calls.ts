/**
 * How the engine talks to a shared store: every call bounded in time (a stalled store
 * answers "unavailable" within the strategy's timeout, never a hung request), and the
 * writes that must land eventually (a successor record, a logout marker, a lock release)
 * retried in the background with back-off while the store is down.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RefreshLock } from './coordinator.ts';
import { ArgusError, ArgusErrorCode } from './errors.ts';

/**
 * The mark of a promise that was settled when it was made: the answer of a coordinator
 * that keeps its facts in this process. Bounding one in time cannot change its outcome,
 * so {@link CoordinationCalls.bounded} hands it back as it is, without a timer. A
 * property under a symbol of this module rather than a `WeakSet`: adding to a weak set
 * costs several times the call it saves, and burdens every garbage collection after.
 */
const SETTLED_AT_BIRTH: unique symbol = Symbol('passport-argus settled at birth');

/** A promise {@link answered} made. */
type Answered<T> = Promise<T> & { [SETTLED_AT_BIRTH]?: true };

/**
 * `value` as an already-settled promise that {@link CoordinationCalls.bounded} passes
 * through without a timer: for a coordinator that answers from memory, synchronously.
 */
export function answered<T>(value: T): Promise<T> {
  const promise: Answered<T> = Promise.resolve(value);
  promise[SETTLED_AT_BIRTH] = true;
  return promise;
}

/** Bounded calls and background retries against a coordination (or session) store. */
export class CoordinationCalls {
  readonly #timeout: number;
  readonly #retryFor: number;
  #pending = 0;

  /**
   * @param timeout - the bound of each call, in ms (the strategy's `timeout`).
   * @param retryFor - how long a write is retried before it is given up, in ms.
   */
  constructor(timeout: number, retryFor: number) {
    this.#timeout = timeout;
    this.#retryFor = retryFor;
  }

  /** Writes being retried in the background (0 when all landed). */
  get pending(): number {
    return this.#pending;
  }

  /** `promise`, or an `ARGUS_COORDINATION` error once the timeout has passed. */
  bounded<T>(promise: Promise<T>): Promise<T> {
    // An answer already in hand (an in-process coordinator's) needs no timer and no race:
    // they cost more than the call itself on every login and every session write.
    if ((promise as Answered<T>)[SETTLED_AT_BIRTH] === true) return promise;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ArgusError(
            ArgusErrorCode.COORDINATION,
            'The coordination store (or session store) did not answer in time',
            { status: 503 },
          ),
        );
      }, this.#timeout);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  }

  /** Retries `write` with back-off until it lands or `retryFor` has passed, then `after`. */
  retry(write: () => Promise<unknown>, after: () => unknown = () => undefined): void {
    this.#pending++;
    const until = performance.now() + this.#retryFor;
    const attempt = async (pause: number): Promise<void> => {
      await sleep(pause, undefined, { ref: false });
      try {
        await write();
      } catch {
        if (performance.now() < until) return attempt(Math.min(pause * 2, 2000));
      }
      this.#pending--;
      after();
    };
    attempt(50).catch(() => undefined);
  }

  /**
   * Releases a lock, retrying in the background if the store fails: a lock left behind
   * would keep every instance from refreshing the session until its TTL runs out.
   */
  release(lock: RefreshLock): void {
    const release = () => this.bounded(lock.release());
    release().catch(() => this.retry(release));
  }
}
