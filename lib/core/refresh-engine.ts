/**
 * One refresh per session, however many requests ask at once. Within a process, requests
 * of one session that need a refresh while one is under way wait for it and take its
 * result. Across processes a {@link RefreshCoordinator} lets one instance refresh while
 * the others wait and take the winner's tokens. And a finished refresh is recorded as the
 * successor of the set it replaced, so a request still holding the replaced set (it
 * loaded the session before the new tokens were written, or a stale copy was saved over
 * them) continues with the new set instead of spending the refresh token a second time,
 * which a rotating Argus would punish with a logout.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArgusClient } from './argus-client.ts';
import { fingerprint, LocalRefreshCoordinator, type RefreshCoordinator } from './coordinator.ts';
import { ArgusError, ArgusErrorCode } from './errors.ts';
import { log } from './log.ts';
import type { ArgusTokenSet } from './token-set.ts';

/** Why a user was logged out. */
export type LogoutReason =
  /** Argus rejected the refresh (`invalid_grant`, 401, 403). */
  | 'rejected'
  /** The refresh timeout passed without a refresh. */
  | 'refresh_timeout'
  /** The token expired and there was no refresh token. */
  | 'expired'
  /** The user or the app asked for it (`argusLogout`, `req.argus.logout()`). */
  | 'user';

/** The events an `ArgusStrategy` emits on `strategy.events`. None carries a token. */
export interface ArgusEvents {
  /** A user logged in. */
  login: [{ user: unknown }];
  /** A token set was refreshed with Argus (once per refresh call, not per waiting request). */
  refresh: [{ user: unknown; expiresAt: Date }];
  /** A refresh failed because Argus (or the coordination store) was unavailable; the session was kept. */
  'refresh-failed': [{ user: unknown; error: ArgusError; tokenStillValid: boolean }];
  /** A user was logged out, with the reason. */
  logout: [{ user: unknown; reason: LogoutReason }];
}

/** What the engine needs from the request whose session it refreshes. */
export interface RefreshHooks {
  /** The token set the store holds now for this session (not this request's copy). */
  reload(): Promise<ArgusTokenSet | undefined>;
  /** Writes a new set into this request's session and saves it to the store. */
  persist(tokens: ArgusTokenSet): Promise<void>;
}

/** What {@link RefreshEngine.refresh} resolves to. */
export interface RefreshResult {
  tokens: ArgusTokenSet;
  /** True for the one caller whose call went to Argus. */
  leader: boolean;
}

/** A refresh under way in this process. */
interface InFlight {
  replaced: string;
  promise: Promise<RefreshResult>;
}

/** Options of {@link RefreshEngine}. */
export interface RefreshEngineOptions {
  /** Coordinates instances. Default: a {@link LocalRefreshCoordinator}. */
  coordinator?: RefreshCoordinator | undefined;
  /** The Argus call timeout, in ms: bounds how long anyone waits for a refresh. */
  timeout: number;
}

/**
 * Refreshes token sets: one Argus call per session at a time in this process, and — with
 * a shared coordinator — across processes. Keyed by session id; entries leave the
 * in-flight registry when the call settles.
 */
export class RefreshEngine extends EventEmitter<ArgusEvents> {
  readonly #client: ArgusClient;
  readonly #coordinator: RefreshCoordinator;
  readonly #timeout: number;
  readonly #inFlight = new Map<string, InFlight>();

  constructor(client: ArgusClient, options: RefreshEngineOptions) {
    super();
    this.#client = client;
    this.#coordinator = options.coordinator ?? new LocalRefreshCoordinator();
    this.#timeout = options.timeout;
  }

  /** The client this engine refreshes with. */
  get client(): ArgusClient {
    return this.#client;
  }

  /** The coordinator in use. */
  get coordinator(): RefreshCoordinator {
    return this.#coordinator;
  }

  /** Refreshes under way in this process (0 when idle). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Returns a refreshed token set for session `key` whose current set is `current`:
   * the result of a refresh of that same set under way here, one recorded by any
   * instance, or a new refresh with Argus.
   */
  refresh(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
  ): Promise<RefreshResult> {
    const running = this.#inFlight.get(key);
    if (running !== undefined && running.replaced === current.accessToken) {
      return running.promise.then((result) => ({ tokens: result.tokens, leader: false }));
    }
    const promise = this.#coordinated(key, current, clientIp, hooks);
    const entry: InFlight = { replaced: current.accessToken, promise };
    this.#inFlight.set(key, entry);
    const done = () => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  async #coordinated(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
    hooks: RefreshHooks,
  ): Promise<RefreshResult> {
    const replaced = fingerprint(current);
    // The lock outlives one Argus call; waiting longer than that means its holder died
    // and the lock's TTL will free it.
    const lockTtl = this.#timeout + 5000;
    const deadline = performance.now() + lockTtl + this.#timeout;
    let pause = 10;
    for (;;) {
      const known = await this.#newer(key, replaced, current, hooks);
      if (known !== undefined) return { tokens: known, leader: false };
      const lock = await this.#coordinator.acquire(key, lockTtl);
      if (lock !== undefined) {
        try {
          // Another instance may have finished between the look above and the lock.
          const finished = await this.#newer(key, replaced, current, hooks);
          if (finished !== undefined) return { tokens: finished, leader: false };
          log.refresh('refresh started');
          const tokens = await this.#client.refresh(current, clientIp);
          await this.#coordinator.recordSuccessor(key, replaced, tokens);
          await hooks.persist(tokens);
          log.refresh('refresh done');
          return { tokens, leader: true };
        } finally {
          await lock.release().catch(() => undefined);
        }
      }
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

  /** A set newer than `current`: a recorded successor, or what the store holds now. */
  async #newer(
    key: string,
    replaced: string,
    current: ArgusTokenSet,
    hooks: RefreshHooks,
  ): Promise<ArgusTokenSet | undefined> {
    const successor = await this.#coordinator.successor(key, replaced);
    if (successor !== undefined) return successor;
    const stored = await hooks.reload();
    if (
      stored !== undefined &&
      stored.accessToken !== current.accessToken &&
      stored.obtainedAt >= current.obtainedAt
    ) {
      return stored;
    }
    return undefined;
  }

  /** Forgets a session (it was logged out), so no late request revives its tokens. */
  async forget(key: string): Promise<void> {
    await this.#coordinator.forget(key);
  }
}
