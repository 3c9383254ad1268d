/**
 * A session's life, in one place. Whatever the framework and however many instances
 * serve it, a session moves through these states:
 *
 * ```
 * anonymous ──/login──▶ logging in ──callback (claims the state)──▶ active(n)
 * active(n) ──inside the refresh window──▶ refreshing(n) ──Argus answers──▶ active(n+1)
 * refreshing(n) ──Argus unavailable──▶ active(n)          (kept; 503 once n expired)
 * active(n) ──the Argus breaker is open──▶ active(n)       (not tried; 503 once n expired)
 * active / refreshing ──user logout, Argus rejection, refresh timeout──▶ logged out
 * ```
 *
 * and these rules hold on every interleaving:
 *
 * 1. One token exchange per `state` ({@link RefreshEngine.claimLogin}), one Argus refresh
 *    per token set: one in flight per token set in this process, a lock across instances,
 *    and a recorded successor for anyone still holding the replaced set.
 * 2. Once Argus has answered a refresh, its answer is kept here first (it is the only copy
 *    of a rotated refresh token), then written to the session, then recorded for the
 *    other instances; a failure of those writes is retried and reported, never fatal.
 * 3. A logged-out session is marked ({@link RefreshEngine.endSession}); no write of its
 *    tokens happens after the mark ({@link RefreshEngine.guardedWrite}), and a session
 *    that vanished from the store counts as logged out.
 * 4. A session ends only by the user's logout, an Argus rejection or the refresh timeout.
 * 5. Every wait is bounded: each coordination call by the strategy's `timeout`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArgusClient } from './argus-client.ts';
import type { ServiceBreakers } from './api-breakers.ts';
import type { ArgusBreaker } from './breaker.ts';
import { engineBreakers } from './engine-breakers.ts';
import {
  fingerprint,
  LocalRefreshCoordinator,
  localAnswers,
  type RefreshCoordinator,
  type RefreshLock,
  type SessionFacts,
} from './coordinator.ts';
import { CoordinationCalls } from './coordination-calls.ts';
import { type ClaimContext, claimLogin, earlierOutcome, type LoginClaim } from './login-claims.ts';
import { ArgusError, ArgusErrorCode, isRejection } from './errors.ts';
import { type ArgusEvents, IsolatedEmitter } from './events.ts';
import type { RefreshEngineOptions } from './engine-options.ts';
import { ExpiringMap } from './expiring-map.ts';
import { Flight } from './flight.ts';
import { log } from './log.ts';
import { SessionChecks } from './session-check.ts';
import { engineStats, type RefreshEngineStats } from './stats.ts';
import { SuccessorChain } from './successor-chain.ts';
import type { ArgusTokenSet } from './token-set.ts';
import { TokenVault } from './token-vault.ts';
import { channels, type RefreshTraceContext, settleRefresh, traced } from './tracing.ts';

export type { ArgusEvents, LogoutReason } from './events.ts';
export type { LoginClaim } from './login-claims.ts';
export type { RefreshEngineOptions } from './engine-options.ts';

/** What the engine needs from the request whose session it refreshes. */
export interface RefreshHooks {
  /**
   * The token set the store holds now for this session (not this request's copy):
   * `null` when the store has no record with tokens (the session is gone), `undefined`
   * when the adapter cannot read the store.
   */
  reload(): Promise<ArgusTokenSet | null | undefined>;
  /** Writes a new set into this request's session and saves it to the store. */
  persist(tokens: ArgusTokenSet): Promise<void>;
  /**
   * The outcome of a refresh this request started but was let go before (Argus was slow
   * to answer): its tokens, or why it failed.
   */
  late?(outcome: { tokens: ArgusTokenSet } | { error: unknown }): void;
}

/** What {@link RefreshEngine.refresh} resolves to. */
export interface RefreshResult {
  tokens: ArgusTokenSet;
  /** True for the one caller whose call went to Argus. */
  leader: boolean;
}

/** An Argus answer kept in this process: in memory, so in clear. */
interface Kept {
  /** The answer's fingerprint. */
  next: string;
  tokens: ArgusTokenSet;
}

/**
 * Thrown inside the engine when the session turns out to be logged out (marked, or gone
 * from the store): the request is treated as logged out, with no call to Argus.
 */
export class SessionEndedError extends ArgusError {
  constructor() {
    super(ArgusErrorCode.SESSION_EXPIRED, 'The session was logged out by another request');
  }
}

/** The key of the refresh of session `key`'s set whose access token is `accessToken`. */
function flightSlot(key: string, accessToken: string): string {
  return `${key}\u0000${accessToken}`;
}

/** How long this process keeps an Argus answer it could not yet record elsewhere, in ms. */
const KEEP_LOCALLY = 600_000;

/**
 * The session's life: login claims, refreshes (one Argus call per token set, in this
 * process and — with a shared coordinator — across processes), logout markers, and the
 * check every write of a session's tokens goes through. Keyed by session id; in-flight
 * entries leave when they settle, and everything kept locally expires by itself.
 */
export class RefreshEngine extends IsolatedEmitter<ArgusEvents> {
  readonly #client: ArgusClient;
  readonly #coordinator: RefreshCoordinator;
  readonly #timeout: number;
  readonly #lockTtl: number;
  readonly #markerTtl: number;
  /** What login claims need, made once: a claim is on every login's path. */
  readonly #claims: ClaimContext;
  readonly #vault: TokenVault;
  readonly #breaker: ArgusBreaker;
  readonly #breakers: ServiceBreakers;
  readonly #checks: SessionChecks;
  /**
   * Refreshes under way in this process, by session and replaced access token: one per
   * token set. A session can have two at once (a request holding a stale copy of an older
   * set starts one while the newer set's refresh goes on, say in the background after its
   * requests were let go); neither may hide the other, or a request holding the newer set
   * would start a second refresh of it.
   */
  readonly #inFlight = new Map<string, Flight>();
  /** Argus answers kept here first: each session's chain of successors. */
  readonly #recent = new ExpiringMap<SuccessorChain<Kept>>();
  /** Sessions this process logged out or found logged out. */
  readonly #ended = new ExpiringMap<true>();
  /** Bounded calls to the coordinator and the session store, and background retries. */
  readonly #calls: CoordinationCalls;

  constructor(client: ArgusClient, options: RefreshEngineOptions) {
    super();
    this.#client = client;
    this.#coordinator = options.coordinator ?? new LocalRefreshCoordinator();
    this.#timeout = options.timeout;
    // The lock outlives one Argus call: a live holder always finishes before it expires.
    this.#lockTtl = this.#coordinator.lockTtl ?? options.timeout + 5000;
    // A marker outlives any refresh or wait that could still be in flight.
    this.#markerTtl = Math.max(KEEP_LOCALLY, 2 * (this.#lockTtl + options.timeout));
    this.#calls = new CoordinationCalls(options.timeout, KEEP_LOCALLY);
    this.#claims = {
      coordinator: this.#coordinator,
      calls: this.#calls,
      ttl: options.loginTimeout ?? 600_000,
      wait: 3 * this.#timeout + 1000,
      report: (what, error) => this.report(what, error),
    };
    this.#vault = options.vault ?? new TokenVault();
    this.#breakers = engineBreakers({
      settings: options.breaker,
      apiURL: client.options.apiURL.href,
      coordinator: this.#coordinator,
      timeout: options.timeout,
      slowTimer: options.slowTimer,
      emit: (event, ...args) => this.emit(event, ...args),
      report: (what, error) => this.report(what, error),
      bound: (promise) => this.#calls.bounded(promise),
    });
    this.#breaker = this.#breakers.authentication;
    this.#checks = new SessionChecks(client, this.#breaker);
  }

  /**
   * The breaker of the session's own calls to Argus (refreshes, session checks, logout):
   * it stops them while Argus's authentication service is down, but for one probe per
   * interval.
   */
  get breaker(): ArgusBreaker {
    return this.#breaker;
  }

  /**
   * The breaker an API call to `path` goes through: its service's (the first segment of
   * the path), so that one failing service stops neither the others nor the refreshes.
   */
  apiBreaker(path: string): ArgusBreaker {
    return this.#breakers.forPath(path);
  }

  /**
   * The session checks of `requireArgus({ sessionCheckInterval })`, through the breaker.
   *
   * @internal
   */
  get sessionChecks(): SessionChecks {
    return this.#checks;
  }

  /** The client this engine refreshes with. */
  get client(): ArgusClient {
    return this.#client;
  }

  /**
   * Seals and opens the token sets of this engine's sessions (in clear without keys).
   *
   * @internal
   */
  get vault(): TokenVault {
    return this.#vault;
  }

  /** The coordinator in use. */
  get coordinator(): RefreshCoordinator {
    return this.#coordinator;
  }

  /** Refreshes under way in this process (0 when idle). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Coordination writes that failed and are being retried (0 when all landed). */
  get pendingRetries(): number {
    return this.#calls.pending;
  }

  /** What this engine holds in this process now, for metrics: see {@link RefreshEngineStats}. */
  stats(): RefreshEngineStats {
    return engineStats(
      this.#inFlight.size,
      this.#recent.size,
      this.#ended.size,
      this.#calls.pending,
      this.#breaker.state,
      this.#breakers.openServices(),
      this.#coordinator,
    );
  }

  // ── logging in ──────────────────────────────────────────────────────────────────────

  /**
   * Claims the login of `state`, atomically across every instance: the first callback
   * wins and goes on to the token endpoint; a copy of it that arrives meanwhile (a
   * double-click, a retried request) waits for the winner's outcome instead, so the
   * one-time code is exchanged once.
   */
  claimLogin(state: string): Promise<LoginClaim> {
    // Answered at once by the in-process coordinator; the promise only wraps that answer.
    return Promise.resolve(claimLogin(state, this.#claims));
  }

  /**
   * How the claimed login of `state` ended (waiting for one under way), or `undefined`
   * when no callback claimed it: for a copy of a callback that arrives after the first
   * copy replaced the session it was sent with.
   */
  claimedOutcome(state: string): Promise<'success' | 'failure' | undefined> {
    return earlierOutcome(state, this.#claims);
  }

  // ── refreshing ─────────────────────────────────────────────────────────────────────

  /**
   * Returns a refreshed token set for session `key` whose current set is `current`:
   * the result of a refresh of that same set under way here, one recorded by any
   * instance, or a new refresh with Argus. Rejects with an `ARGUS_SESSION_EXPIRED` error when
   * the session was logged out meanwhile, with Argus's rejection, or with an
   * unavailable-type error (the session is then kept).
   */
  refresh(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
  ): Promise<RefreshResult> {
    // Argus is down and it is not this process's turn to probe: answer at once, before
    // any coordination, so that an outage costs the requests nothing but this comparison.
    // A session this process has logged out is told so first: "unavailable" would let a
    // request holding a still-valid token go on after the logout.
    if (this.#breaker.refuses()) {
      return Promise.reject(
        this.#ended.get(key) === true ? new SessionEndedError() : this.#breaker.openError(),
      );
    }
    if (!channels.refresh.hasSubscribers) return this.#refresh(key, current, clientIp, hooks);
    const context: RefreshTraceContext = {};
    const run = () => this.#refresh(key, current, clientIp, hooks, context);
    return traced(channels.refresh, context, run, settleRefresh);
  }

  #refresh(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
    trace?: RefreshTraceContext,
  ): Promise<RefreshResult> {
    const slot = flightSlot(key, current.accessToken);
    const running = this.#inFlight.get(slot);
    if (running !== undefined && running.replaced === current.accessToken) {
      if (trace !== undefined) trace.source = 'shared';
      if (running.isSlow) return this.#unlessEnded(key, running.wait(running.promise));
      // Argus's rejection is the leader's to act on (one logout, one event); the requests
      // that shared its call find the session ended.
      return this.#unlessEnded(
        key,
        running.wait(
          running.promise.then(
            (result) => ({ tokens: result.tokens, leader: false }),
            (error: unknown) => {
              throw isRejection(error) ? new SessionEndedError() : error;
            },
          ),
        ),
      );
    }
    const flight = new Flight(current.accessToken);
    const promise = this.#coordinated(key, current, clientIp, hooks, trace, flight);
    flight.promise = promise;
    this.#inFlight.set(slot, flight);
    const done = () => {
      if (this.#inFlight.get(slot) === flight) this.#inFlight.delete(slot);
    };
    promise.then(
      (result) => {
        done();
        if (flight.isSlow && result.leader) hooks.late?.({ tokens: result.tokens });
      },
      (error: unknown) => {
        done();
        if (flight.isSlow) hooks.late?.({ error });
      },
    );
    return this.#unlessEnded(key, flight.wait(promise));
  }

  /**
   * A request's answer, `answer`, unless session `key` was logged out in this process by
   * the time it came: then {@link SessionEndedError}. A request that waited while the
   * logout completed (its refresh's writes landed before the logout, or it was let go at
   * `slowCall` after it) must not go on logged in. Argus's rejection stays one: the leader
   * marked the session itself, and logs the user out. The refresh itself is not affected.
   */
  #unlessEnded(key: string, answer: Promise<RefreshResult>): Promise<RefreshResult> {
    return answer.then(
      (result) => {
        if (this.#ended.get(key) === true) throw new SessionEndedError();
        return result;
      },
      (error: unknown) => {
        throw this.#ended.get(key) === true && !isRejection(error)
          ? new SessionEndedError()
          : error;
      },
    );
  }

  async #coordinated(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
    trace: RefreshTraceContext | undefined,
    flight: Flight,
  ): Promise<RefreshResult> {
    const replaced = fingerprint(current);
    const began = performance.now();
    // A live holder finishes within one Argus call and a few store writes; waiting longer
    // means it died (its lock's TTL will free the session for a later request) or the
    // store is in trouble. Either way this request is answered now, as "unavailable":
    // it goes on with a token that is still valid, or gets a 503 with Retry-After. A
    // holder whose call is slow lets its own requests go at `slowCall`; so does this one.
    const deadline = began + Math.min(this.#timeout, this.#breaker.slowCall ?? Infinity) + 1000;
    let pause = 10;
    for (;;) {
      const known = await this.#newer(key, replaced, current, hooks);
      if (trace !== undefined) trace.waitMs = performance.now() - began;
      if (known !== undefined) return { tokens: known, leader: false };
      const lock = await this.#calls.bounded(this.#coordinator.acquire(key, this.#lockTtl));
      if (trace !== undefined) trace.waitMs = performance.now() - began;
      if (lock !== undefined)
        return this.#lead(key, replaced, current, clientIp, hooks, lock, trace, flight);
      // Another instance opened the breaker meanwhile: answered at once, as any refused call.
      if (this.#breaker.refuses()) throw this.#breaker.openError();
      if (performance.now() > deadline) {
        throw new ArgusError(
          ArgusErrorCode.COORDINATION,
          'Another instance is refreshing this session and has not finished in time',
          { status: 503 },
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 100);
    }
  }

  /** The refresh itself, by the holder of the lock. */
  async #lead(
    key: string,
    replaced: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
    lock: RefreshLock,
    trace: RefreshTraceContext | undefined,
    flight: Flight,
  ): Promise<RefreshResult> {
    let release = true;
    try {
      // Another instance may have finished between the look before the lock and the lock.
      const finished = await this.#newer(key, replaced, current, hooks);
      if (finished !== undefined) return { tokens: finished, leader: false };
      log.refresh('refresh started');
      if (trace !== undefined) trace.source = 'argus';
      const tokens = await this.#breaker
        .call(
          () => this.#client.refresh(current, clientIp),
          undefined,
          () => flight.markSlow(this.#breaker.slowCall as number),
        )
        .catch((error: unknown) => this.#failed(key, error));
      if (trace !== undefined) trace.status = 200;
      // Argus has answered: under rotation this is the only copy of the new refresh
      // token. Keep it here before any step that can fail.
      const chain = this.#recent.get(key) ?? new SuccessorChain<Kept>();
      chain.add(replaced, { next: fingerprint(tokens), tokens });
      this.#recent.set(key, chain, KEEP_LOCALLY);
      if ((await this.#store(key, tokens, hooks)) === 'ended') {
        // Logged out while Argus answered: the answer is discarded, and the Argus
        // session it extended is ended too (best effort).
        this.#recent.delete(key);
        this.#client.endSession(tokens.accessToken, clientIp).catch(() => undefined);
        throw new SessionEndedError();
      }
      // Until the successor is recorded the lock stays held, so that no other instance
      // refreshes with the spent token; the retry releases it.
      release = await this.#record(key, replaced, tokens, lock);
      log.refresh('refresh done');
      return { tokens, leader: true };
    } finally {
      if (release) this.#calls.release(lock);
    }
  }

  /**
   * Rethrows the error of a refresh that failed, with the lock still held. Argus rejected
   * it: the session has ended at Argus. If it was logged out meanwhile (the user's logout
   * ends the Argus session too), that logout tells the end: {@link SessionEndedError},
   * not a second logout. Otherwise it is marked logged out before the lock is released,
   * so that no instance waiting for the lock presents the rejected refresh token again;
   * the request (or, for a request let go, its `late` hook) then logs the user out.
   */
  async #failed(key: string, error: unknown): Promise<never> {
    if (!isRejection(error)) throw error;
    if (await this.#isLoggedOut(key)) throw new SessionEndedError();
    await this.endSession(key);
    throw error;
  }

  /** Writes Argus's answer to the session, then looks whether it was logged out meanwhile. */
  async #store(key: string, tokens: ArgusTokenSet, hooks: RefreshHooks): Promise<'kept' | 'ended'> {
    if (this.#ended.get(key) === true) return 'ended';
    try {
      await this.#calls.bounded(hooks.persist(tokens));
    } catch (error) {
      // Kept locally and recorded as the successor: the next request repairs the store.
      this.report('saving refreshed tokens to the session', error);
    }
    if (this.#ended.get(key) === true) return 'ended';
    try {
      const facts = await this.#calls.bounded(this.#coordinator.facts(key, undefined));
      if (facts.loggedOut) return 'ended';
    } catch {
      // The marker cannot be read: keeping the answer is what loses nothing.
    }
    return 'kept';
  }

  /** Records the successor; on failure retries in the background. True when recorded. */
  async #record(
    key: string,
    replaced: string,
    tokens: ArgusTokenSet,
    lock: RefreshLock,
  ): Promise<boolean> {
    // Sealed before it leaves the engine, once: a retry writes the same record.
    const successor = { next: fingerprint(tokens), tokens: this.#vault.toRecord(tokens, key) };
    const write = () =>
      this.#calls
        .bounded(this.#coordinator.recordSuccessor(key, replaced, successor))
        .then(() => true);
    try {
      return await write();
    } catch (error) {
      this.report('recording a refresh for other instances (retrying)', error);
      this.#calls.retry(write, () => this.#calls.release(lock));
      return false;
    }
  }

  /**
   * A set newer than `current`: kept here, recorded by any instance, or what the store
   * holds now. Throws {@link SessionEndedError} when the session was logged out or is gone.
   */
  async #newer(
    key: string,
    replaced: string,
    current: ArgusTokenSet,
    hooks: RefreshHooks,
  ): Promise<ArgusTokenSet | undefined> {
    if (this.#ended.get(key) === true) throw new SessionEndedError();
    // The newest set this process knows of, then the newest any instance recorded after it.
    const kept = this.#recent.get(key)?.newest(replaced)?.tokens;
    let facts: SessionFacts;
    try {
      facts = await this.#calls.bounded(
        this.#coordinator.facts(key, kept === undefined ? replaced : fingerprint(kept)),
      );
    } catch (error) {
      // The store is down, but this process holds a newer set: go on with it.
      if (kept !== undefined) return kept;
      throw error;
    }
    if (facts.loggedOut) {
      this.#ended.set(key, true, this.#markerTtl);
      throw new SessionEndedError();
    }
    const recorded = this.#successorOf(key, facts);
    if (recorded !== undefined) return recorded;
    if (kept !== undefined) return kept;
    const stored = await this.#calls.bounded(hooks.reload());
    // Gone from the store: logged out elsewhere (or expired there). Never refresh it.
    if (stored === null) throw new SessionEndedError();
    if (
      stored !== undefined &&
      stored.accessToken !== current.accessToken &&
      stored.obtainedAt >= current.obtainedAt
    ) {
      return stored;
    }
    return undefined;
  }

  /**
   * The token set of the successor a coordinator recorded, opened: `undefined` when there
   * is none, or one that does not open here (sealed with a key this strategy lacks, for
   * another session, or not the set its `next` names), which counts as none.
   */
  #successorOf(key: string, facts: SessionFacts): ArgusTokenSet | undefined {
    const record = facts.successor;
    if (record === undefined) return undefined;
    const tokens = this.#vault.fromRecord(record.tokens, key);
    if (tokens !== undefined && fingerprint(tokens) === record.next) return tokens;
    log.refresh('a recorded successor does not open here; ignored');
    return undefined;
  }

  // ── logging out ────────────────────────────────────────────────────────────────────

  /**
   * Marks session `key` as logged out, here at once and in the coordinator: no refresh
   * result and no late save of a request's copy writes its tokens again. If the store is
   * down, the mark is retried in the background, and once it lands `destroy` (the removal
   * of the session's record) runs again: another instance that could not see the mark
   * meanwhile may have written the record back.
   */
  async endSession(key: string, destroy?: () => Promise<void>): Promise<void> {
    this.#ended.set(key, true, this.#markerTtl);
    this.#recent.delete(key);
    const mark = () => this.#calls.bounded(this.#coordinator.markLoggedOut(key, this.#markerTtl));
    try {
      await mark();
    } catch (error) {
      this.report('marking a session as logged out (retrying)', error);
      this.#calls.retry(mark, () =>
        destroy?.().catch((again: unknown) => this.report('removing a logged-out session', again)),
      );
    }
  }

  /**
   * Runs `write` (a store write of session `key`'s tokens) only while the session is not
   * logged out, and undoes it with `destroy` if a logout was marked while it ran. A
   * logout marks first and destroys the record after, so whichever order the two
   * interleave in, the record ends destroyed.
   */
  async guardedWrite(
    key: string,
    write: () => Promise<void>,
    destroy: () => Promise<void>,
  ): Promise<'written' | 'discarded'> {
    if (await this.#isLoggedOut(key)) return 'discarded';
    await write();
    if (await this.#isLoggedOut(key)) {
      await destroy().catch((error: unknown) =>
        this.report('removing a logged-out session', error),
      );
      return 'discarded';
    }
    return 'written';
  }

  /**
   * Whether session `key` is logged out, answered at once when the coordinator keeps its
   * facts in this process (as {@link RefreshEngine.guardedWrite} checks it); `undefined`
   * when only a call to a shared store can tell.
   *
   * @internal
   */
  loggedOutNow(key: string): boolean | undefined {
    if (this.#ended.get(key) === true) return true;
    const local = localAnswers(this.#coordinator);
    if (local === undefined) return undefined;
    if (!local.loggedOutNow(key)) return false;
    this.#ended.set(key, true, this.#markerTtl);
    return true;
  }

  async #isLoggedOut(key: string): Promise<boolean> {
    if (this.#ended.get(key) === true) return true;
    try {
      const facts = await this.#calls.bounded(this.#coordinator.facts(key, undefined));
      if (facts.loggedOut) this.#ended.set(key, true, this.#markerTtl);
      // The store may have been read before a logout of this process marked it: the mark
      // set here meanwhile counts too, or the write would land after that logout.
      return facts.loggedOut || this.#ended.get(key) === true;
    } catch {
      // Unknown: write. Losing a refreshed token set would log the user out for nothing.
      return false;
    }
  }
}
