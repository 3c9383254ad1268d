/**
 * The session check between refreshes (`requireArgus({ sessionCheckInterval })`): asks
 * Argus whether a user's session is still alive, so that a logout at Argus is noticed
 * before the next refresh. Framework-free; the refresh engine holds one per strategy.
 */
import type { ArgusClient } from './argus-client.ts';
import { type ArgusBreaker, verdictOfStatus } from './breaker.ts';
import { isArgusError } from './errors.ts';
import { log } from './log.ts';
import { lastVouchedAt, type SessionRecord } from './session-record.ts';
import type { TokenTimes } from './token-vault.ts';

/**
 * What a check found: the session is `'valid'` (200), Argus has `'ended'` it (401), or
 * `'unknown'`: Argus unavailable, the breaker open, or any other answer.
 */
export type SessionState = 'valid' | 'ended' | 'unknown';

/** What {@link SessionChecks.check} resolves to. */
export interface SessionCheckResult {
  state: SessionState;
  /** When the check started (ms since the epoch): Argus vouched for the session after it. */
  at: number;
  /** True for the one caller whose check went to Argus; false for those who shared it. */
  leader: boolean;
}

/**
 * The key of a check in flight: the session and the token checked. Keyed by the session
 * alone, a check of a newer token (the session was refreshed meanwhile) would hide the
 * older token's check still under way, and a request holding the older set would ask
 * Argus again.
 */
function checkSlot(key: string, accessToken: string): string {
  return `${key}\u0000${accessToken}`;
}

/** A shared check's result, as seen by a caller that joined it. */
function joined(result: SessionCheckResult): SessionCheckResult {
  return { ...result, leader: false };
}

/**
 * True when a session check is due: `interval` ms or more have passed since Argus last
 * vouched for the session (a check, a login or a refresh).
 */
export function isCheckDue(
  session: SessionRecord | undefined,
  times: TokenTimes,
  now: number,
  interval: number,
): boolean {
  return now - lastVouchedAt(session, times) >= interval;
}

/**
 * Session checks, one in flight per session and token in this process: concurrent
 * requests of one session share it. Each goes through the Argus breaker, so while Argus
 * is down none is made. Entries leave when they settle.
 */
export class SessionChecks {
  readonly #client: ArgusClient;
  readonly #breaker: ArgusBreaker;
  readonly #inFlight = new Map<string, Promise<SessionCheckResult>>();

  constructor(client: ArgusClient, breaker: ArgusBreaker) {
    this.#client = client;
    this.#breaker = breaker;
  }

  /** Checks in flight in this process (0 when idle). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Asks Argus about session `key`'s `accessToken`, or joins the check of the same token
   * under way. Never rejects: whatever fails is `'unknown'`.
   */
  check(
    key: string,
    accessToken: string,
    clientIp: string | undefined,
  ): Promise<SessionCheckResult> {
    const slot = checkSlot(key, accessToken);
    const running = this.#inFlight.get(slot);
    if (running !== undefined) return running.then(joined);
    const promise = this.#ask(accessToken, clientIp);
    this.#inFlight.set(slot, promise);
    // Removed by identity: a later check of this token is never dropped by this one's end.
    promise.then(() => {
      if (this.#inFlight.get(slot) === promise) this.#inFlight.delete(slot);
    });
    return promise;
  }

  async #ask(accessToken: string, clientIp: string | undefined): Promise<SessionCheckResult> {
    const at = Date.now();
    const client = this.#client;
    try {
      // A 502, 503 or 504 counts as Argus down; any other answer as Argus up.
      const status = await this.#breaker.call(
        () => client.checkSession(accessToken, clientIp),
        verdictOfStatus,
      );
      const state = status === 200 ? 'valid' : status === 401 ? 'ended' : 'unknown';
      if (state === 'unknown') log.guard('session check answered %d: session kept', status);
      return { state, at, leader: true };
    } catch (error) {
      const code = isArgusError(error) ? error.code : 'unexpected';
      log.guard('session check failed (%s): session kept', code);
      return { state: 'unknown', at, leader: true };
    }
  }
}
