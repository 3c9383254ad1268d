/**
 * Coordination of refreshes across app instances that share a session store. One
 * instance refreshes a session at a time (a lock with a TTL, so a crashed holder cannot
 * block anyone for longer), and the result is recorded as the *successor* of the token
 * set it replaced, so that any instance holding the old set — a waiting instance, or a
 * request whose stale copy of the session was saved over the new one — continues with
 * the new set instead of spending the old refresh token a second time.
 */
import { createHash } from 'node:crypto';
import type { ArgusTokenSet } from './token-set.ts';

/** A held refresh lock. */
export interface RefreshLock {
  /** Releases the lock if this holder still owns it. */
  release(): Promise<void>;
}

/**
 * What the refresh engine needs to coordinate instances. Implement it over any shared
 * store; {@link LocalRefreshCoordinator} serves one process, `RedisRefreshCoordinator`
 * several.
 */
export interface RefreshCoordinator {
  /**
   * The lock TTL this coordinator uses instead of the `ttl` passed to {@link acquire}, in
   * ms, when it has one of its own. `ArgusStrategy` refuses a coordinator whose `lockTtl`
   * is shorter than its `timeout` plus 1000 ms: a lock that expired while its holder still
   * waits for Argus would let a second instance refresh the same token set.
   */
  readonly lockTtl?: number | undefined;
  /** Takes the refresh lock of session `key` for `ttl` ms, or `undefined` when another holder has it. */
  acquire(key: string, ttl: number): Promise<RefreshLock | undefined>;
  /**
   * Records that `tokens` replaced the set whose fingerprint is `replaced`. Keep it long
   * enough to outlive a stale copy of the session saved over the new one (minutes).
   */
  recordSuccessor(key: string, replaced: string, tokens: ArgusTokenSet): Promise<void>;
  /** The set that replaced the one with fingerprint `replaced`, if recorded and not expired. */
  successor(key: string, replaced: string): Promise<ArgusTokenSet | undefined>;
  /** Forgets everything about session `key` (it was logged out). */
  forget(key: string): Promise<void>;
}

/**
 * A fingerprint of a token set's access token: lets the coordinator record successors
 * without keeping the replaced token itself.
 */
export function fingerprint(tokens: ArgusTokenSet): string {
  return createHash('sha256').update(tokens.accessToken).digest('base64url').slice(0, 32);
}

interface LocalSuccessor {
  replaced: string;
  tokens: ArgusTokenSet;
  timer: NodeJS.Timeout;
}

/** Options of {@link LocalRefreshCoordinator}. */
export interface LocalRefreshCoordinatorOptions {
  /** How long a successor is remembered, in ms. Default `600000` (10 minutes). */
  successorTtl?: number;
}

/**
 * The in-process coordinator, the default: the refresh engine already runs one refresh
 * per session at a time within a process, so the lock is always granted; successors are
 * kept in memory and dropped by a timer, so the registry returns to empty.
 */
export class LocalRefreshCoordinator implements RefreshCoordinator {
  readonly #successors = new Map<string, LocalSuccessor>();
  readonly #ttl: number;

  constructor(options: LocalRefreshCoordinatorOptions = {}) {
    const ttl = options.successorTtl ?? 600_000;
    if (typeof ttl !== 'number' || !(ttl > 0)) {
      throw new TypeError(
        'LocalRefreshCoordinator option "successorTtl" must be a positive number of milliseconds',
      );
    }
    this.#ttl = ttl;
  }

  /** Sessions with a remembered successor. */
  get size(): number {
    return this.#successors.size;
  }

  async acquire(): Promise<RefreshLock> {
    return { release: async () => undefined };
  }

  async recordSuccessor(key: string, replaced: string, tokens: ArgusTokenSet): Promise<void> {
    const old = this.#successors.get(key);
    if (old !== undefined) clearTimeout(old.timer);
    const timer = setTimeout(() => {
      if (this.#successors.get(key)?.timer === timer) this.#successors.delete(key);
    }, this.#ttl);
    timer.unref();
    this.#successors.set(key, { replaced, tokens, timer });
  }

  async successor(key: string, replaced: string): Promise<ArgusTokenSet | undefined> {
    const entry = this.#successors.get(key);
    return entry !== undefined && entry.replaced === replaced ? entry.tokens : undefined;
  }

  async forget(key: string): Promise<void> {
    const entry = this.#successors.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.#successors.delete(key);
  }
}
