/**
 * Coordination of a session's life across app instances that share a session store. The
 * coordinator keeps the few facts that must be shared and atomic, which a session record
 * (loaded and saved whole by each request) cannot keep:
 *
 * - **login claims**: one callback per `state` goes on to the token endpoint, however many
 *   copies of it arrive at once; the others learn its outcome;
 * - **refresh locks**: one instance refreshes a session at a time (a lock with a TTL, so a
 *   crashed holder cannot block anyone for longer);
 * - **successors**: a finished refresh is recorded as the successor of the token set it
 *   replaced, so any instance holding the old set continues with the new one instead of
 *   spending the old refresh token a second time. The coordinator keeps the new set as
 *   text it never reads, sealed when the strategy has `encryptionKeys`;
 * - **logout markers**: a logged-out session is marked, not forgotten, so that no refresh
 *   in flight and no late save of a request's copy brings it back.
 */
import type { BreakerReport } from './breaker.ts';
import { answered } from './coordination-calls.ts';
import { ExpiringMap } from './expiring-map.ts';
import { SuccessorChain } from './successor-chain.ts';

/** A held refresh lock. */
export interface RefreshLock {
  /** Releases the lock if this holder still owns it. */
  release(): Promise<void>;
}

/**
 * A finished refresh, as a coordinator records it: what it needs to walk the chain of
 * successors in clear, and the new token set as opaque text.
 */
export interface SuccessorRecord {
  /**
   * The fingerprint of the new set (a hash of its access token, not the token): the link
   * to follow next, as the `replaced` of the refresh after this one.
   */
  readonly next: string;
  /**
   * The new token set as the refresh engine wrote it: sealed (AES-256-GCM) when the
   * strategy has `encryptionKeys`, else JSON. Store it as it is; never read it.
   */
  readonly tokens: string;
}

/** What a coordinator knows of one session. */
export interface SessionFacts {
  /** The session was logged out (by the user, an Argus rejection or the refresh timeout). */
  loggedOut: boolean;
  /**
   * The newest record that replaced the set asked about, following recorded successors
   * (set n → n+1 → n+2 … by each record's `next`), if any was recorded and not expired.
   */
  successor?: SuccessorRecord | undefined;
}

/** How a login claimed by one callback ended. */
export type ClaimOutcome = 'pending' | 'success' | 'failure';

/**
 * What the session's life needs from a shared store. Implement it over any store with
 * atomic writes; {@link LocalRefreshCoordinator} serves one process, `RedisRefreshCoordinator`
 * several. Every method may reject (the store is down); the caller bounds each call in
 * time and treats a failure as "coordination unavailable", never as a logout.
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
   * Records that `successor` replaced the set whose fingerprint is `replaced`, adding a
   * link to the session's chain of successors (not replacing the last one: a request
   * holding any older set must reach the newest). Keep links long enough to outlive a
   * stale copy of the session saved over the new one (minutes). Records nothing for a
   * session marked as logged out.
   */
  recordSuccessor(key: string, replaced: string, successor: SuccessorRecord): Promise<void>;
  /**
   * Whether session `key` was logged out, and the newest successor reachable from
   * `replaced` if one was recorded.
   */
  facts(key: string, replaced: string | undefined): Promise<SessionFacts>;
  /**
   * Marks session `key` as logged out for `ttl` ms (longer than any refresh or request
   * can stay in flight), and drops its successor: nothing may write its tokens again.
   */
  markLoggedOut(key: string, ttl: number): Promise<void>;
  /**
   * Claims the login whose state fingerprint is `key` for `ttl` ms: `true` for the first
   * caller only, atomically, across every instance sharing the store.
   */
  claim(key: string, ttl: number): Promise<boolean>;
  /** Records how a claimed login ended, for the callbacks that lost the claim. */
  settleClaim(key: string, outcome: Exclude<ClaimOutcome, 'pending'>): Promise<void>;
  /** How a claimed login stands; `undefined` when nobody holds the claim. */
  claimOutcome(key: string): Promise<ClaimOutcome | undefined>;
  /**
   * Optional, with {@link reportBreaker} and {@link claimProbe} (all three or none): whether
   * the Argus breaker `key` is open on some instance. Without these methods each process
   * keeps its own breaker.
   */
  breaker?(key: string): Promise<boolean>;
  /** Optional: records that breaker `key` opened (for `ttl` ms unless renewed) or closed. */
  reportBreaker?(key: string, report: BreakerReport): Promise<void>;
  /**
   * Optional: claims the one probe of breaker `key` for `ttl` ms from `now` (the caller's
   * `Date.now()`, the clock every other time of the package is read from), atomically
   * across every instance: `true` for one caller per interval.
   */
  claimProbe?(key: string, ttl: number, now: number): Promise<boolean>;
}

/** The methods a {@link RefreshCoordinator} must have, for validating an option. */
export const COORDINATOR_METHODS = [
  'acquire',
  'recordSuccessor',
  'facts',
  'markLoggedOut',
  'claim',
  'settleClaim',
  'claimOutcome',
] as const;

/** The optional methods that share the Argus breaker; a coordinator has all or none. */
export const BREAKER_METHODS = ['breaker', 'reportBreaker', 'claimProbe'] as const;

export { fingerprint, fingerprintOf } from './fingerprint.ts';

/** Options of {@link LocalRefreshCoordinator}. */
export interface LocalRefreshCoordinatorOptions {
  /** How long a successor (and a logout marker) is remembered, in ms. Default `600000` (10 minutes). */
  successorTtl?: number;
}

/**
 * The in-process coordinator, the default: the refresh engine already runs one refresh
 * per session at a time within a process, so the lock is always granted; successors,
 * markers and claims are kept in memory and dropped by timers, so it returns to empty.
 */
export class LocalRefreshCoordinator implements RefreshCoordinator {
  readonly #successors = new ExpiringMap<SuccessorChain<SuccessorRecord>>();
  readonly #loggedOut = new ExpiringMap<true>();
  readonly #claims = new ExpiringMap<ClaimOutcome>();
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

  /** Logout markers held. */
  get markers(): number {
    return this.#loggedOut.size;
  }

  /** Login claims held. */
  get claims(): number {
    return this.#claims.size;
  }

  // Every answer is made synchronously from memory and handed back already settled
  // (`answered`), so that the engine's calls skip the time bound a shared store needs. The
  // engine asks the hottest ones (a login's claim and outcome, the logout check of every
  // session write) through the `…Now` methods instead: the same answers, without a promise.

  acquire(): Promise<RefreshLock> {
    return answered(LOCAL_LOCK);
  }

  recordSuccessor(key: string, replaced: string, successor: SuccessorRecord): Promise<void> {
    if (this.#loggedOut.get(key) !== true) {
      const chain = this.#successors.get(key) ?? new SuccessorChain<SuccessorRecord>();
      chain.add(replaced, successor);
      this.#successors.set(key, chain, this.#ttl);
    }
    return answered(undefined);
  }

  facts(key: string, replaced: string | undefined): Promise<SessionFacts> {
    if (this.#loggedOut.get(key) === true) return answered({ loggedOut: true });
    const chain = this.#successors.get(key);
    return answered({
      loggedOut: false,
      successor: replaced === undefined ? undefined : chain?.newest(replaced),
    });
  }

  markLoggedOut(key: string, ttl: number): Promise<void> {
    this.#loggedOut.set(key, true, Math.max(ttl, this.#ttl));
    this.#successors.delete(key);
    return answered(undefined);
  }

  claim(key: string, ttl: number): Promise<boolean> {
    return answered(this.claimNow(key, ttl));
  }

  settleClaim(key: string, outcome: Exclude<ClaimOutcome, 'pending'>): Promise<void> {
    this.settleClaimNow(key, outcome);
    return answered(undefined);
  }

  /**
   * {@link LocalRefreshCoordinator.claim}, answered at once.
   *
   * @internal
   */
  claimNow(key: string, ttl: number): boolean {
    if (this.#claims.get(key) !== undefined) return false;
    this.#claims.set(key, 'pending', ttl);
    return true;
  }

  /**
   * {@link LocalRefreshCoordinator.settleClaim}, done at once.
   *
   * @internal
   */
  settleClaimNow(key: string, outcome: Exclude<ClaimOutcome, 'pending'>): void {
    this.#claims.update(key, outcome);
  }

  /**
   * The `loggedOut` of {@link LocalRefreshCoordinator.facts}, answered at once.
   *
   * @internal
   */
  loggedOutNow(key: string): boolean {
    return this.#loggedOut.get(key) === true;
  }

  claimOutcome(key: string): Promise<ClaimOutcome | undefined> {
    return answered(this.#claims.get(key));
  }
}

const LOCAL = LocalRefreshCoordinator.prototype;

/**
 * `coordinator` when its answers can be had at once: a {@link LocalRefreshCoordinator}
 * whose claim, outcome and facts methods are its own (not replaced or overridden, so the
 * `…Now` methods answer exactly what they would). Otherwise `undefined`: ask through the
 * promise-returning methods. Checked on each use, since a method can be replaced later.
 *
 * @internal
 */
export function localAnswers(coordinator: RefreshCoordinator): LocalRefreshCoordinator | undefined {
  return coordinator instanceof LocalRefreshCoordinator &&
    coordinator.claim === LOCAL.claim &&
    coordinator.settleClaim === LOCAL.settleClaim &&
    coordinator.claimOutcome === LOCAL.claimOutcome &&
    coordinator.facts === LOCAL.facts
    ? coordinator
    : undefined;
}

/** The lock of the in-process coordinator: always granted, nothing to release. */
const LOCAL_LOCK: RefreshLock = { release: () => answered(undefined) };
