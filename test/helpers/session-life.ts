/**
 * A small world for exploring a session's life under fast-check's scheduler: Argus (the
 * emulator's own grant logic, with refresh-token rotation and reuse detection), a session
 * store, app instances (each a RefreshEngine with its own view of the store and its own
 * coordinator client), and requests that go through the real `ArgusContext`. Every call
 * between them (to Argus, to the store, to the coordinator) is sent and answered at
 * moments the scheduler picks, and so, where Argus may be slow, is the moment a call to
 * it passes the breaker's `slowCall` unanswered: a property sees every order those can
 * land in.
 */
import type fc from 'fast-check';
import type { ArgusClient } from '../../lib/core/argus-client.ts';
import { ArgusContext, type RenewOutcome } from '../../lib/core/argus-context.ts';
import { type BreakerSettings, DEFAULT_BREAKER, type SlowTimer } from '../../lib/core/breaker.ts';
import {
  LocalRefreshCoordinator,
  type RefreshCoordinator,
  type RefreshLock,
} from '../../lib/core/coordinator.ts';
import { ArgusError, ArgusErrorCode } from '../../lib/core/errors.ts';
import type { LogoutReason } from '../../lib/core/events.ts';
import type { GuardSettings } from '../../lib/core/guard-settings.ts';
import { RefreshEngine } from '../../lib/core/refresh-engine.ts';
import { readTokens, type SessionRecord } from '../../lib/core/session-record.ts';
import { gateStore } from '../../lib/core/store-gate.ts';
import { type ArgusTokenSet, isTokenSet } from '../../lib/core/token-set.ts';
import { DEMO_CLIENT, resolveOptions } from '../../lib/emulator/options.ts';
import { GrantEventLog } from '../../lib/emulator/grant-events.ts';
import { Clock, EmulatorState, type IssuedTokens } from '../../lib/emulator/state.ts';

/**
 * Lets the scheduler decide when things happen, until {@link Pacer.close}: after that
 * every step happens at once, so follow-up checks and late background work run unpaced.
 */
export class Pacer {
  #scheduler: fc.Scheduler | undefined;

  constructor(scheduler: fc.Scheduler | undefined) {
    this.#scheduler = scheduler;
  }

  /** True while the scheduler picks the moments. */
  get paced(): boolean {
    return this.#scheduler !== undefined;
  }

  /** Resolves at a moment the scheduler picks. */
  step(label: string): Promise<void> {
    return this.#scheduler === undefined
      ? Promise.resolve()
      : this.#scheduler.schedule(Promise.resolve(), label);
  }

  /**
   * `fn` as a remote call: it is sent (takes effect) at one scheduled moment and its
   * answer reaches the caller at another, so effects and answers interleave freely. With
   * `delay`, the answer of each call first waits that many more scheduled steps (a call
   * that hangs while much else happens).
   */
  call<A extends unknown[], T>(
    label: string,
    fn: (...args: A) => Promise<T>,
    delay?: () => number,
  ): (...args: A) => Promise<T> {
    return async (...args: A) => {
      await this.step(`${label} sent`);
      // Settled first, so that an answer waiting for its turn is never an unhandled rejection.
      const settled = fn(...args).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const steps = delay?.() ?? 0;
      for (let i = 0; i < steps && this.paced; i++) await this.step(`${label} waits`);
      const scheduler = this.#scheduler;
      // The schedule shows whether each answer was a success, not its (long) value.
      if (scheduler !== undefined) {
        await scheduler.schedule(
          settled.then((result) => (result.ok ? 'ok' : 'failed')),
          `${label} answered`,
        );
      }
      const answer = await settled;
      if (!answer.ok) throw answer.error;
      return answer.value;
    };
  }

  /** Stops pacing: from now on every step and call happens at once. */
  close(): void {
    this.#scheduler = undefined;
  }
}

/** The methods of a {@link RefreshCoordinator} a fault can hit. */
export type CoordinatorMethod =
  | 'acquire'
  | 'release'
  | 'recordSuccessor'
  | 'facts'
  | 'markLoggedOut'
  | 'claim'
  | 'settleClaim'
  | 'claimOutcome';

/** One coordination store failure: the `nth` call (from 0) of `method`, world-wide, fails. */
export interface CoordinatorFault {
  method: CoordinatorMethod;
  nth: number;
}

/** Calls counted per coordinator method, and the planned fault (cleared once it fired). */
export class CoordinatorCalls {
  readonly counts = new Map<CoordinatorMethod, number>();
  fault: CoordinatorFault | undefined;
  /** The faults that fired. */
  fired = 0;
  /** The methods whose planned fault fired. */
  readonly failed = new Set<CoordinatorMethod>();

  constructor(fault?: CoordinatorFault) {
    this.fault = fault;
  }

  /** Counts a call; true when this call is the one that fails. */
  hit(method: CoordinatorMethod): boolean {
    const n = this.counts.get(method) ?? 0;
    this.counts.set(method, n + 1);
    if (this.fault?.method !== method || this.fault.nth !== n) return false;
    this.fault = undefined;
    this.fired++;
    this.failed.add(method);
    return true;
  }

  count(method: CoordinatorMethod): number {
    return this.counts.get(method) ?? 0;
  }
}

/** The token set of a record, when it holds one in clear (this model seals nothing). */
function clearSet(record: SessionRecord): ArgusTokenSet | undefined {
  const stored = readTokens(record);
  return isTokenSet(stored) ? stored : undefined;
}

/** What a coordination store that is down answers, as `RedisRefreshCoordinator` does. */
function storeDown(): ArgusError {
  return new ArgusError(ArgusErrorCode.COORDINATION, 'The coordination store is unavailable', {
    status: 503,
  });
}

/**
 * `coordinator` with each method a paced remote call, counted in `calls`, and failing
 * where `calls` plans a fault (the call then has no effect, as with a store that is down).
 */
export function pacedCoordinator(
  coordinator: RefreshCoordinator,
  pacer: Pacer,
  calls: CoordinatorCalls,
  label = '',
): RefreshCoordinator {
  const remote = <A extends unknown[], T>(
    method: CoordinatorMethod,
    fn: (...args: A) => Promise<T>,
  ) =>
    pacer.call(`${label}${method}`, async (...args: A) => {
      if (calls.hit(method)) throw storeDown();
      return fn(...args);
    });
  const paceLock = (lock: RefreshLock | undefined): RefreshLock | undefined =>
    lock === undefined ? undefined : { release: remote('release', () => lock.release()) };
  return {
    lockTtl: coordinator.lockTtl,
    acquire: remote('acquire', async (key: string, ttl: number) =>
      paceLock(await coordinator.acquire(key, ttl)),
    ),
    recordSuccessor: remote('recordSuccessor', coordinator.recordSuccessor.bind(coordinator)),
    facts: remote('facts', coordinator.facts.bind(coordinator)),
    markLoggedOut: remote('markLoggedOut', coordinator.markLoggedOut.bind(coordinator)),
    claim: remote('claim', coordinator.claim.bind(coordinator)),
    settleClaim: remote('settleClaim', coordinator.settleClaim.bind(coordinator)),
    claimOutcome: remote('claimOutcome', coordinator.claimOutcome.bind(coordinator)),
  };
}

/**
 * An in-process coordinator whose refresh lock the engines sharing it take in turn, as
 * with Redis (`LocalRefreshCoordinator` grants every lock: one process needs none): for
 * replaying schedules of several instances without a redis-server.
 */
export function sharedLockCoordinator(): RefreshCoordinator {
  const local = new LocalRefreshCoordinator();
  const held = new Map<string, number>();
  return {
    acquire: async (key: string, ttl: number) => {
      const until = held.get(key);
      if (until !== undefined && until > Date.now()) return undefined;
      const mine = Date.now() + ttl;
      held.set(key, mine);
      return {
        release: async () => {
          if (held.get(key) === mine) held.delete(key);
        },
      };
    },
    recordSuccessor: local.recordSuccessor.bind(local),
    facts: local.facts.bind(local),
    markLoggedOut: local.markLoggedOut.bind(local),
    claim: local.claim.bind(local),
    settleClaim: local.settleClaim.bind(local),
    claimOutcome: local.claimOutcome.bind(local),
  };
}

/** One refresh grant call as Argus saw it. */
export interface RefreshCall {
  /** The refresh token presented. */
  token: string;
  instance: number;
  /** The world tick at which Argus answered. */
  at: number;
  /** The world tick at which its answer reached the instance, once it did. */
  deliveredAt?: number;
  /** The set Argus answered with, or why it refused. */
  answer: ArgusTokenSet | { rejected: string };
}

/**
 * Argus for one user and one client, driven in-process by the emulator's grant logic with
 * refresh-token rotation and reuse detection on: a spent refresh token presented again
 * revokes the whole grant, exactly what a second refresh of one token set would cause.
 */
export class ArgusGrants {
  readonly state: EmulatorState;
  /** Every refresh call, in the order Argus received them. */
  readonly refreshes: RefreshCall[] = [];
  /** Access tokens whose Argus session was ended by a logout. */
  readonly ended: string[] = [];
  #lastIssue = 0;
  readonly #user: string;
  readonly #tick: () => number;
  /** For each refresh call, world-wide in the order they are sent: its answer's delay. */
  readonly #delays: readonly number[];
  #sent = 0;

  /** `delays[n]`: the extra scheduled steps the answer of the nth refresh call waits. */
  constructor(tick: () => number, delays: readonly number[] = []) {
    this.#tick = tick;
    this.#delays = delays;
    const options = resolveOptions({ rotateRefreshTokens: true, reuseDetection: true });
    this.state = new EmulatorState(
      new Clock(),
      () => options.settings,
      options.users,
      new GrantEventLog(),
    );
    this.#user = options.users[0]?.userName ?? 'alice';
  }

  /** Logs the user in: a code approved by the portal and exchanged, as the callback does. */
  login(): ArgusTokenSet {
    const redirectUri = DEMO_CLIENT.redirectUris[0] ?? '';
    const code = this.state.createCode({
      clientID: DEMO_CLIENT.clientID,
      redirectUri,
      codeChallenge: undefined,
      scope: undefined,
      userName: this.#user,
      portalSession: this.state.createPortalSession(this.#user),
      browserIP: '203.0.113.7',
    });
    const result = this.state.redeemCode(code, DEMO_CLIENT.clientID, redirectUri, undefined);
    if (!result.ok) throw new Error(`login failed: ${result.reason}`);
    return this.#tokenSet(result.tokens, undefined);
  }

  /** The user logs out of the Argus portal: Argus rejects every later refresh. */
  logoutUser(): void {
    this.state.logoutUser(this.#user);
  }

  /** How many times each refresh token was presented. */
  presented(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.refreshes) counts.set(call.token, (counts.get(call.token) ?? 0) + 1);
    return counts;
  }

  /** The refreshes Argus rejected. */
  get rejections(): RefreshCall[] {
    return this.refreshes.filter((call) => 'rejected' in call.answer);
  }

  /** The last set Argus issued by a refresh, and the instance it answered. */
  get latest(): { tokens: ArgusTokenSet; instance: number } | undefined {
    for (let i = this.refreshes.length - 1; i >= 0; i--) {
      const call = this.refreshes[i];
      if (call !== undefined && !('rejected' in call.answer)) {
        return { tokens: call.answer, instance: call.instance };
      }
    }
    return undefined;
  }

  /**
   * An object with the `ArgusClient` methods the engine and `ArgusContext` use for a
   * session's life (`refresh`, `endSession`, `options.timeout`, and `options.apiURL`, which
   * names the engine's breaker), each a paced call.
   */
  client(instance: number, pacer: Pacer, timeout: number): ArgusClient {
    const refresh = pacer.call(
      `argus.refresh@${instance}`,
      async (current: ArgusTokenSet, seen: { call?: RefreshCall }) => {
        const token = current.refreshToken ?? '';
        const result = this.state.refresh(token, DEMO_CLIENT.clientID);
        if (!result.ok) {
          seen.call = { token, instance, at: this.#tick(), answer: { rejected: result.reason } };
          this.refreshes.push(seen.call);
          throw new ArgusError(ArgusErrorCode.REJECTED, 'Argus rejected the refresh', {
            argusStatus: 400,
            oauthError: 'invalid_grant',
          });
        }
        const tokens = this.#tokenSet(result.tokens, current);
        seen.call = { token, instance, at: this.#tick(), answer: tokens };
        this.refreshes.push(seen.call);
        return tokens;
      },
      () => this.#delays[this.#sent++] ?? 0,
    );
    const endSession = pacer.call(`argus.endSession@${instance}`, async (accessToken: string) => {
      const info = this.state.tokenInfo(accessToken);
      if (info !== undefined) this.state.endGrant(info.grant.id, 'session_delete');
      this.ended.push(accessToken);
    });
    // Only these members are used on the paths explored; the rest of ArgusClient is HTTP.
    return {
      options: { timeout, apiURL: new URL('https://api.argus.test') },
      refresh: async (current: ArgusTokenSet) => {
        const seen: { call?: RefreshCall } = {};
        try {
          return await refresh(current, seen);
        } finally {
          if (seen.call !== undefined) seen.call.deliveredAt = this.#tick();
        }
      },
      endSession: (accessToken: string) => endSession(accessToken),
    } as unknown as ArgusClient;
  }

  /** The token set the package would store for an answer (as `readTokenAnswer` builds it). */
  #tokenSet(issued: IssuedTokens, previous: ArgusTokenSet | undefined): ArgusTokenSet {
    // Strictly increasing: two answers of one session are never issued in the same millisecond.
    const now = Math.max(Date.now(), this.#lastIssue + 1);
    this.#lastIssue = now;
    const set: ArgusTokenSet = {
      accessToken: issued.accessToken,
      tokenType: 'Bearer',
      expiresAt: now + issued.expiresIn * 1000,
      obtainedAt: now,
      loggedInAt: previous?.loggedInAt ?? now,
    };
    const refreshToken = issued.refreshToken ?? previous?.refreshToken;
    if (refreshToken !== undefined) set.refreshToken = refreshToken;
    return set;
  }
}

/** One write or destroy of a session record, as the store saw it. */
export interface StoreOp {
  kind: 'set' | 'destroy';
  instance: number;
  /** The access token of the set written, if the record held one. */
  accessToken: string | undefined;
  /** World ticks: when the call was made, and when it took effect. */
  issuedAt: number;
  landedAt: number | undefined;
}

type Callback = (error?: unknown) => void;

/**
 * A session store shared by every instance: records kept as JSON (so each request loads
 * its own copy), each operation landing at a scheduled moment, all of them logged.
 */
export class SessionStore {
  readonly #records = new Map<string, string>();
  readonly ops: StoreOp[] = [];
  readonly #tick: () => number;

  constructor(tick: () => number) {
    this.#tick = tick;
  }

  /** Puts a record in place at once (the login that started the session). */
  seed(sid: string, record: SessionRecord): void {
    this.#records.set(sid, JSON.stringify(record));
  }

  /** The token set the store holds for `sid` now, read directly. */
  tokens(sid: string): ArgusTokenSet | undefined {
    const raw = this.#records.get(sid);
    return raw === undefined ? undefined : clearSet(JSON.parse(raw) as SessionRecord);
  }

  /**
   * The store as instance `instance`'s session middleware holds it: express-session's
   * callback methods. `ArgusContext` gates its `set` with the instance's engine.
   */
  view(instance: number, pacer: Pacer): StoreView {
    const records = this.#records;
    const tick = this.#tick;
    const ops = this.ops;
    const land = (op: StoreOp, label: string, effect: () => void, callback?: Callback) => {
      ops.push(op);
      pacer.step(`${label}@${instance}`).then(() => {
        effect();
        op.landedAt = tick();
        callback?.();
      });
    };
    return {
      get(sid: string, callback: (error: unknown, record?: SessionRecord) => void) {
        pacer.step(`store.get@${instance}`).then(() => {
          const raw = records.get(sid);
          callback(null, raw === undefined ? undefined : (JSON.parse(raw) as SessionRecord));
        });
      },
      set(sid: string, record: SessionRecord, callback?: Callback) {
        // Serialised when called, as a store client does.
        const raw = JSON.stringify(record);
        const op: StoreOp = {
          kind: 'set',
          instance,
          accessToken: clearSet(record)?.accessToken,
          issuedAt: tick(),
          landedAt: undefined,
        };
        land(op, 'store.set', () => records.set(sid, raw), callback);
      },
      destroy(sid: string, callback?: Callback) {
        const op: StoreOp = {
          kind: 'destroy',
          instance,
          accessToken: undefined,
          issuedAt: tick(),
          landedAt: undefined,
        };
        land(op, 'store.destroy', () => records.delete(sid), callback);
      },
    };
  }
}

/** express-session's store methods, as {@link SessionStore.view} provides them. */
export interface StoreView {
  get(sid: string, callback: (error: unknown, record?: SessionRecord) => void): void;
  set(sid: string, record: SessionRecord, callback?: Callback): void;
  destroy(sid: string, callback?: Callback): void;
}

/**
 * The settings of `requireArgus()` the explored paths read. The refresh window is longer
 * than Argus's tokens live (300 s), so that every guarded request refreshes, with a token
 * that is still valid.
 */
export const SETTINGS: GuardSettings = Object.freeze({
  loginURL: '/login',
  refreshWindow: 600_000,
  refreshTimeout: undefined,
  sessionCheckInterval: undefined,
  retryAfterSeconds: '5',
  noStore: true,
  cookieName: 'connect.sid',
});

/** An app instance: its engine, its store client and its index. */
export interface Instance {
  index: number;
  engine: RefreshEngine;
  store: StoreView;
}

/** One request of the session, served by an instance through the real `ArgusContext`. */
export class SessionRequest extends ArgusContext {
  readonly #instance: Instance;
  readonly #sid: string;
  #record: SessionRecord | undefined;

  private constructor(instance: Instance, sid: string, record: SessionRecord | undefined) {
    super(instance.engine, SETTINGS);
    this.#instance = instance;
    this.#sid = sid;
    this.#record = record;
  }

  /** A request arriving: its session middleware loads its own copy of the record. */
  static async arrive(instance: Instance, sid: string): Promise<SessionRequest> {
    const record = await load(instance.store, sid);
    return new SessionRequest(instance, sid, record);
  }

  /** True when the copy this request loaded holds a token set. */
  get loggedIn(): boolean {
    return readTokens(this.#record) !== undefined;
  }

  /** The end of the request: the session middleware saves this request's copy, if any. */
  async end(): Promise<void> {
    if (this.#record !== undefined) await this.saveSession();
  }

  protected sessionRecord(): SessionRecord | undefined {
    return this.#record;
  }
  protected sessionKey(): string {
    return this.#sid;
  }
  protected clientIp(): string {
    return '203.0.113.7';
  }
  protected isPageRequest(): boolean {
    return false;
  }
  protected currentUser(): unknown {
    return this.#record?.passport;
  }
  protected saveSession(): Promise<void> {
    const record = this.#record;
    if (record === undefined) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.#instance.store.set(this.#sid, record, (error) => (error ? reject(error) : resolve())),
    );
  }
  protected sessionStore(): unknown {
    return this.#instance.store;
  }
  protected override async storedTokens(): Promise<ArgusTokenSet | null> {
    return this.tokensOf(await load(this.#instance.store, this.#sid));
  }
  protected endLocalSession(): Promise<void> {
    this.#record = undefined;
    return new Promise((resolve, reject) =>
      this.#instance.store.destroy(this.#sid, (error) => (error ? reject(error) : resolve())),
    );
  }
}

function load(store: StoreView, sid: string): Promise<SessionRecord | undefined> {
  return new Promise((resolve, reject) =>
    store.get(sid, (error, record) => (error ? reject(error) : resolve(record))),
  );
}

/** What a request of a scenario does. */
export type RequestKind =
  /** Refreshes now (`req.argus.refresh()`), then saves its copy when it ends. */
  | 'refresh'
  /**
   * Passes `requireArgus()` (`ensureFresh()`): refreshes, since its token is inside the
   * refresh window, but goes on with the still-valid token if Argus is unavailable. Then
   * saves its copy when it ends.
   */
  | 'guard'
  /** Changes something else in its session and saves its (maybe stale) copy when it ends. */
  | 'save'
  /** Logs out (`argusLogout()`): ends the Argus session, marks, destroys the record. */
  | 'logout';

/** A request of a scenario: what it does and which instance serves it. */
export interface RequestSpec {
  kind: RequestKind;
  instance: number;
  /**
   * The index of an earlier request of the scenario that this one is sent after (as a
   * browser sends its next request once the previous one was answered); else it is sent
   * at once.
   */
  after?: number | undefined;
  /**
   * For a `save`: the index of another request of the scenario that this one outlasts (a
   * slow request, say an upload, that saves its copy only once that one has ended).
   */
  outlasts?: number | undefined;
}

/** How a request of a scenario ended. */
export interface RequestResult {
  spec: RequestSpec;
  /** `anonymous` when the copy it loaded had no tokens (the session was already gone). */
  outcome: RenewOutcome['type'] | 'anonymous' | 'done' | 'error';
  reason?: string;
  /** The world tick at which its copy of the session was loaded. */
  loadedAt?: number;
  /** The world tick at which its refresh was answered (`refresh` and `guard`). */
  answeredAt?: number;
  /** Real time it took, in ms. */
  elapsed: number;
}

/** Options of {@link World}. */
export interface WorldOptions {
  /** One coordinator per instance: the same object for instances sharing one in memory. */
  coordinators: RefreshCoordinator[];
  /** The strategy's `timeout`, in ms: bounds every call of the engine. */
  timeout: number;
  fault?: CoordinatorFault | undefined;
  /**
   * Calls to Argus may become slow: each has a scheduled `argus.slow@i` step that, when it
   * comes before the call's answer, is the breaker's `slowCall` passing (the requests
   * waiting for a refresh are let go, the call goes on). Default: never slow, as with the
   * default breaker, whose `slowCall` is not below this world's timeout.
   */
  slow?: boolean;
  /**
   * For each refresh call to Argus, world-wide in the order they are sent: how many more
   * scheduled steps its answer waits after Argus processed it (default none). A long wait
   * is a call that hangs while the session's next requests come and go.
   */
  delays?: readonly number[] | undefined;
}

/** A `logout` event of an engine, as the world saw it. */
export interface LogoutEvent {
  instance: number;
  reason: LogoutReason;
  /** The world tick at which it was emitted. */
  at: number;
}

/** The slow timer of a call whose slow step comes after the pacer closed: never fires. */
const NEVER_SLOW = Object.freeze({ cancel: () => undefined });

/** Argus, a store, instances and one logged-in session, all paced by one scheduler. */
export class World {
  readonly sid = 'session-1';
  readonly pacer: Pacer;
  readonly argus: ArgusGrants;
  readonly store: SessionStore;
  readonly calls: CoordinatorCalls;
  readonly instances: Instance[];
  readonly results: RequestResult[] = [];
  /** Problems the engines reported (coordination writes retried, and so on). */
  readonly problems: string[] = [];
  /** The tick at which the first logout (by the user or after a rejection) completed. */
  loggedOutAt: number | undefined;
  /** True once the user logged out of Argus itself (every later refresh is rejected). */
  argusLoggedOut = false;
  /** Calls to Argus that became slow before they were answered. */
  slowCalls = 0;
  /** The engines' `logout` events, in order. */
  readonly logouts: LogoutEvent[] = [];
  /** The engines' `refresh` events. */
  refreshEvents = 0;
  /** Promise rejections nobody handled during the run. */
  readonly unhandled: unknown[] = [];
  readonly timeout: number;
  #ticks = 0;

  constructor(scheduler: fc.Scheduler | undefined, options: WorldOptions) {
    this.pacer = new Pacer(scheduler);
    this.argus = new ArgusGrants(() => this.tick(), options.delays);
    this.timeout = options.timeout;
    this.store = new SessionStore(() => this.tick());
    this.calls = new CoordinatorCalls(options.fault);
    this.instances = options.coordinators.map((coordinator, index) => {
      const paced = pacedCoordinator(coordinator, this.pacer, this.calls, `${index}:`);
      const client = this.argus.client(index, this.pacer, options.timeout);
      const engine = new RefreshEngine(client, {
        coordinator: paced,
        timeout: options.timeout,
        ...(options.slow ? this.#slowBreaker(index) : {}),
      });
      engine.on('problem', ({ what }) => this.problems.push(what));
      engine.on('logout', ({ reason }) => {
        this.logouts.push({ instance: index, reason, at: this.tick() });
        // Emitted once the session is marked and its record destroyed: the logout completed.
        this.#loggedOut();
      });
      engine.on('refresh', () => {
        this.refreshEvents++;
      });
      const store = this.store.view(index, this.pacer);
      // As after the login or the first guarded request of the instance: from then on every
      // save of a logged-in record passes the logout check.
      gateStore(store, engine);
      return { index, engine, store };
    });
    this.store.seed(this.sid, { passport: { user: 'alice' }, argus: this.argus.login() });
  }

  /**
   * A breaker whose `slowCall` is below the timeout, its clock a scheduled step. It opens
   * only after more failures than a run can have: an open breaker refuses calls for its
   * probe interval of real time, and its opening is the breaker tests' subject.
   */
  #slowBreaker(index: number): { breaker: BreakerSettings; slowTimer: SlowTimer } {
    const slowTimer: SlowTimer = (fire) => {
      // Once the pacer closed (the checks after a run), no call is slow.
      if (!this.pacer.paced) return NEVER_SLOW;
      let settled = false;
      this.pacer.step(`argus.slow@${index}`).then(() => {
        if (settled) return;
        this.slowCalls++;
        fire();
      });
      return {
        cancel: () => {
          settled = true;
        },
      };
    };
    return {
      breaker: { ...DEFAULT_BREAKER, failures: 1000, slowCall: Math.floor(this.timeout / 2) },
      slowTimer,
    };
  }

  /** A logical clock for ordering store operations and logouts. */
  tick(): number {
    return ++this.#ticks;
  }

  /** Serves one request, arriving at a scheduled moment; never rejects. */
  async serve(spec: RequestSpec, outlasted?: Promise<unknown>): Promise<RequestResult> {
    let started = performance.now();
    const result: RequestResult = { spec, outcome: 'done', elapsed: 0 };
    try {
      await this.pacer.step(`${spec.kind} request arrives@${spec.instance}`);
      const instance = this.instances[spec.instance];
      if (instance === undefined) throw new Error(`no instance ${spec.instance}`);
      const request = await SessionRequest.arrive(instance, this.sid);
      result.loadedAt = this.tick();
      if (!request.loggedIn) {
        result.outcome = 'anonymous';
      } else if (spec.kind === 'logout') {
        await request.logout();
        this.#loggedOut();
      } else if (spec.kind === 'refresh' || spec.kind === 'guard') {
        const outcome = await request.ensureFresh(spec.kind === 'refresh');
        result.answeredAt = this.tick();
        result.outcome = outcome.type;
        if (outcome.type === 'unavailable') result.reason = outcome.error.message;
        if (outcome.type === 'logged_out') {
          result.reason = outcome.reason;
          if (outcome.reason !== 'ended') this.#loggedOut();
        }
        await request.end();
      } else {
        if (outlasted !== undefined) {
          // The time spent outlasting the other request is not this request's own wait.
          const waited = performance.now();
          await outlasted;
          started += performance.now() - waited;
        }
        await request.end();
      }
    } catch (error) {
      result.outcome = 'error';
      result.reason = error instanceof Error ? error.message : String(error);
    }
    result.elapsed = performance.now() - started;
    this.results.push(result);
    return result;
  }

  #loggedOut(): void {
    this.loggedOutAt ??= this.tick();
  }

  /**
   * Runs `specs` concurrently (and the user's Argus logout, if `argusLogout`) and waits,
   * releasing scheduled steps, until every request has ended or `bound` ms have passed.
   * Then drains what is left and stops pacing. Returns the requests still unsettled.
   */
  async run(
    scheduler: fc.Scheduler,
    specs: readonly RequestSpec[],
    options: { argusLogout?: boolean; bound: number },
  ): Promise<number> {
    if (options.argusLogout) {
      this.pacer.step('user logs out of Argus').then(() => {
        this.argus.logoutUser();
        this.argusLoggedOut = true;
      });
    }
    const unhandled = (reason: unknown) => this.unhandled.push(reason);
    process.on('unhandledRejection', unhandled);
    try {
      return await this.#run(scheduler, specs, options.bound);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  }

  async #run(
    scheduler: fc.Scheduler,
    specs: readonly RequestSpec[],
    bound: number,
  ): Promise<number> {
    let unsettled = specs.length;
    const ends = specs.map(() => deferred());
    const outlasted = outlastings(specs);
    const served = specs.map((spec, index) => {
      const previous = predecessor(specs, index);
      const other = outlasted[index];
      const start = previous === undefined ? Promise.resolve() : ends[previous]?.promise;
      return (start ?? Promise.resolve())
        .then(() => this.serve(spec, other === undefined ? undefined : ends[other]?.promise))
        .finally(() => {
          unsettled--;
          ends[index]?.resolve();
        });
    });
    const all = Promise.all(served);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, bound);
    });
    await scheduler.waitFor(Promise.race([all.then(() => undefined), limit]));
    clearTimeout(timer);
    await scheduler.waitIdle();
    this.pacer.close();
    this.calls.fault = undefined;
    // Steps scheduled just before the pacer closed still wait for their turn: give it.
    await scheduler.waitAll();
    // Coordination writes the engines retry in the background (a logout marker, a
    // successor), and refreshes whose requests were let go while Argus was slow, end now
    // that every call answers at once: the end state is judged after them, within the bound.
    // (Any other refresh ended before its requests did.)
    const until = Date.now() + bound;
    const busy = () =>
      this.instances.some(
        (x) => x.engine.pendingRetries > 0 || (this.slowCalls > 0 && x.engine.inFlight > 0),
      );
    while (busy() && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // A turn of the event loop: what a settled refresh does next (its late outcome, a
    // logout after a late rejection) runs to its end, and a rejection nobody handled is
    // reported.
    await new Promise((resolve) => setImmediate(resolve));
    return unsettled;
  }
}

/** The request that request `index` is sent after, if a valid earlier one. */
function predecessor(specs: readonly RequestSpec[], index: number): number | undefined {
  const after = specs[index]?.after;
  return after !== undefined && after >= 0 && after < index ? after : undefined;
}

/**
 * For each request, the one whose end its `save` waits for: `outlasts`, unless that one
 * already waits (through any chain of `after` and `outlasts`) for this one.
 */
function outlastings(specs: readonly RequestSpec[]): (number | undefined)[] {
  const waits: (number | undefined)[][] = specs.map((_, index) => [predecessor(specs, index)]);
  const reaches = (from: number, to: number): boolean => {
    const seen = new Set<number>();
    const stack = [from];
    for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
      if (at === to) return true;
      if (seen.has(at)) continue;
      seen.add(at);
      for (const next of waits[at] ?? []) if (next !== undefined) stack.push(next);
    }
    return false;
  };
  return specs.map((spec, index) => {
    const other = spec.outlasts;
    if (spec.kind !== 'save' || other === undefined || other < 0 || other >= specs.length) {
      return undefined;
    }
    if (reaches(other, index)) return undefined;
    waits[index]?.push(other);
    return other;
  });
}

/** A promise and its resolve function (Node 20 has no `Promise.withResolvers`). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
