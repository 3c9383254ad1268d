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

/** A check under way in this process. */
interface InFlight {
  accessToken: string;
  promise: Promise<SessionCheckResult>;
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
  readonly #inFlight = new Map<string, InFlight>();

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
    const running = this.#inFlight.get(key);
    // A check of another token (the session was refreshed meanwhile) says nothing of this one.
    if (running !== undefined && running.accessToken === accessToken) {
      return running.promise.then((result) => ({ ...result, leader: false }));
    }
    const promise = this.#ask(accessToken, clientIp);
    const entry: InFlight = { accessToken, promise };
    this.#inFlight.set(key, entry);
    // Removed by identity: a later check of this session is never dropped by this one's end.
    promise.then(() => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
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
