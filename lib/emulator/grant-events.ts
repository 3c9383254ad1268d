import type { GrantEvent } from './types.ts';

/** The most grant events kept; older ones are dropped first. */
export const MAX_GRANT_EVENTS = 10_000;

/**
 * Why a grant ended, as the `reason` of an `ended` event: the user logged out of Argus (control
 * or portal), the client deleted the session, a spent refresh token came back, a code came back,
 * or the grant was not refreshed within the refresh timeout.
 */
export type EndReason =
  | 'user_logout'
  | 'session_delete'
  | 'reuse_detected'
  | 'code_replay'
  | 'refresh_timeout';

/**
 * Why a refresh grant was refused, as the `reason` of a `rejected` event. An ended grant is
 * refused as `user_logged_out` or `refresh_timeout` when that is how it ended, else as
 * `grant_ended`.
 */
export type RejectReason =
  | 'unknown_token'
  | 'wrong_client'
  | 'grant_ended'
  | 'user_logged_out'
  | 'refresh_timeout'
  | 'reuse_detected'
  | 'token_spent'
  | 'invalid_client'
  | 'invalid_request';

/**
 * The audit log of grant lifecycles, for tests that check invariants over many logins. A ring
 * of the last {@link MAX_GRANT_EVENTS} events, so a long run keeps a bounded amount of memory.
 * Events carry ids and user names only: a token or secret never enters it.
 */
export class GrantEventLog {
  readonly #limit: number;
  #ring: GrantEvent[] = [];
  /** Where the oldest event sits once the ring is full. */
  #start = 0;

  constructor(limit = MAX_GRANT_EVENTS) {
    this.#limit = limit;
  }

  add(event: GrantEvent): void {
    const frozen = Object.freeze({ ...event });
    if (this.#ring.length < this.#limit) {
      this.#ring.push(frozen);
      return;
    }
    this.#ring[this.#start] = frozen;
    this.#start = (this.#start + 1) % this.#limit;
  }

  /** The events, oldest first, in a fresh array. */
  list(): GrantEvent[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }

  clear(): void {
    this.#ring = [];
    this.#start = 0;
  }
}
