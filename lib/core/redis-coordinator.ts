/**
 * Refresh coordination through Redis, for app instances that share a Redis session store
 * (for example with connect-redis). It speaks plain Redis commands through the client the
 * app already has, so passport-argus itself depends on no Redis package.
 */
import { randomBytes } from 'node:crypto';
import type { BreakerReport } from './breaker.ts';
import type {
  ClaimOutcome,
  RefreshCoordinator,
  RefreshLock,
  SessionFacts,
  SuccessorRecord,
} from './coordinator.ts';
import { MAX_LINKS } from './successor-chain.ts';
import { ArgusError, ArgusErrorCode } from './errors.ts';
import { isJsonObject } from './http-client.ts';
import { isTokenSet } from './token-set.ts';

/**
 * The one method used of a Redis client: node-redis (`redis` v4–v6) has it as
 * `sendCommand(args)`; for ioredis pass `{ sendCommand: (args) => client.call(...args) }`.
 */
export interface RedisCommandClient {
  /**
   * Sends one Redis command, such as `['SET', key, value, 'NX', 'PX', '15000']`, and
   * resolves with its reply.
   */
  sendCommand(args: string[]): Promise<unknown>;
}

/** Options of {@link RedisRefreshCoordinator}. */
export interface RedisRefreshCoordinatorOptions {
  /** Key prefix. Default `'passport-argus:'`. */
  prefix?: string;
  /**
   * How long a refresh lock lives if its holder dies, in ms. Default: the strategy's
   * `timeout` plus 5 s, so a live holder always finishes first. `ArgusStrategy` refuses a
   * value below its `timeout` plus 1000 ms: a lock that expired during the holder's call
   * to Argus would let another instance refresh too, and with rotating refresh tokens one
   * of the two would spend a token already spent.
   */
  lockTtl?: number;
  /** How long a successor is remembered, in ms. Default `3600000` (an hour). */
  successorTtl?: number;
}

// Delete the lock only if we still hold it: a holder whose TTL ran out must not release
// the lock that another instance has taken since.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
// A logged-out session gets no successor: the marker and the link are checked and
// written in one step, so a refresh that finishes after the logout records nothing. Each
// link is a hash field (replaced fingerprint → JSON `{ next, tokens }`: the next set's
// fingerprint in clear for the walk below, its tokens as the engine's opaque text, sealed
// when encryption at rest is on); the hash lives as long as the newest link.
const RECORD =
  "if redis.call('exists', KEYS[1]) == 1 then return 0 end " +
  "redis.call('hset', KEYS[2], ARGV[1], ARGV[2]) redis.call('pexpire', KEYS[2], ARGV[3]) return 1";
// The marker, or the newest set reachable from a fingerprint by following the links, in
// one step (at most MAX_LINKS hops).
const FACTS =
  "if redis.call('exists', KEYS[1]) == 1 then return {1, false} end " +
  'local at = ARGV[1] local last = false ' +
  `for hop = 1, ${MAX_LINKS} do ` +
  "local link = redis.call('hget', KEYS[2], at) if not link then break end last = link " +
  'local ok, value = pcall(cjson.decode, link) ' +
  "if not ok or type(value) ~= 'table' or type(value.next) ~= 'string' then break end " +
  'at = value.next end return {0, last}';
// The breaker's probe slot: taken when free or when its holder's interval has ended, by the
// instances' own clock (the one the breaker reads), with a TTL so that it leaves Redis too.
const PROBE =
  "local held = tonumber(redis.call('get', KEYS[1]) or '0') " +
  'if held > tonumber(ARGV[1]) then return 0 end ' +
  "redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1";
// The marker replaces whatever was known of the session, in one step.
const MARK = "redis.call('set', KEYS[1], '1', 'PX', ARGV[1]) redis.call('del', KEYS[2]) return 1";

/**
 * Coordinates a session's life across instances through Redis: `SET NX PX` locks and
 * login claims with a TTL, successor records and logout markers that expire by
 * themselves, and the Argus breaker (a small mark with a TTL, and a probe slot taken in
 * one step, so that one instance probes per interval cluster-wide). A Redis error becomes an `ArgusError` with code `ARGUS_COORDINATION`, which
 * is treated like Argus being unavailable: the session is kept.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisStore } from 'connect-redis';
 * const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * redis.on('error', (err) => console.error('redis', err.message));
 * await redis.connect();
 * app.use(session({ store: new RedisStore({ client: redis }), secret, resave: false, saveUninitialized: false }));
 * passport.use(new ArgusStrategy({ ...options, coordinator: new RedisRefreshCoordinator(redis) }));
 * ```
 */
export class RedisRefreshCoordinator implements RefreshCoordinator {
  readonly #client: RedisCommandClient;
  readonly #prefix: string;
  readonly #lockTtl: number | undefined;
  readonly #successorTtl: number;

  constructor(client: RedisCommandClient, options: RedisRefreshCoordinatorOptions = {}) {
    if (typeof client?.sendCommand !== 'function') {
      throw new TypeError(
        'RedisRefreshCoordinator needs a Redis client with sendCommand (node-redis)',
      );
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new TypeError('RedisRefreshCoordinator option "prefix" must be a string');
    }
    for (const name of ['lockTtl', 'successorTtl'] as const) {
      const value = options[name];
      if (
        value !== undefined &&
        (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0))
      ) {
        throw new TypeError(
          `RedisRefreshCoordinator option "${name}" must be a positive number of milliseconds`,
        );
      }
    }
    this.#client = client;
    this.#prefix = options.prefix ?? 'passport-argus:';
    this.#lockTtl = options.lockTtl;
    this.#successorTtl = options.successorTtl ?? 3_600_000;
  }

  /**
   * The `lockTtl` option, or `undefined` when the refresh engine's default (the
   * strategy's `timeout` plus 5 s) applies. `ArgusStrategy` checks it against its timeout.
   */
  get lockTtl(): number | undefined {
    return this.#lockTtl;
  }

  async #send(args: string[]): Promise<unknown> {
    try {
      return await this.#client.sendCommand(args);
    } catch (cause) {
      throw new ArgusError(
        ArgusErrorCode.COORDINATION,
        'The coordination store (Redis) is unavailable',
        { cause, status: 503 },
      );
    }
  }

  #key(kind: string, key: string): string {
    return `${this.#prefix}${kind}:${key}`;
  }

  async acquire(key: string, ttl: number): Promise<RefreshLock | undefined> {
    const lockKey = this.#key('lock', key);
    const owner = randomBytes(16).toString('base64url');
    const px = String(Math.ceil(this.#lockTtl ?? ttl));
    const reply = await this.#send(['SET', lockKey, owner, 'NX', 'PX', px]);
    if (reply !== 'OK') return undefined;
    return {
      release: async () => {
        await this.#send(['EVAL', RELEASE, '1', lockKey, owner]);
      },
    };
  }

  async recordSuccessor(key: string, replaced: string, successor: SuccessorRecord): Promise<void> {
    const link = JSON.stringify({ next: successor.next, tokens: successor.tokens });
    await this.#send([
      'EVAL',
      RECORD,
      '2',
      this.#key('loggedout', key),
      this.#key('successors', key),
      replaced,
      link,
      String(this.#successorTtl),
    ]);
  }

  async facts(key: string, replaced: string | undefined): Promise<SessionFacts> {
    const reply = await this.#send([
      'EVAL',
      FACTS,
      '2',
      this.#key('loggedout', key),
      this.#key('successors', key),
      replaced ?? '',
    ]);
    const [marker, link] = Array.isArray(reply) ? reply : [];
    if (marker === 1) return { loggedOut: true };
    return { loggedOut: false, successor: readLink(link) };
  }

  async markLoggedOut(key: string, ttl: number): Promise<void> {
    await this.#send([
      'EVAL',
      MARK,
      '2',
      this.#key('loggedout', key),
      this.#key('successors', key),
      String(Math.ceil(Math.max(ttl, this.#successorTtl))),
    ]);
  }

  async claim(key: string, ttl: number): Promise<boolean> {
    const reply = await this.#send([
      'SET',
      this.#key('claim', key),
      'pending',
      'NX',
      'PX',
      String(Math.ceil(ttl)),
    ]);
    return reply === 'OK';
  }

  async settleClaim(key: string, outcome: Exclude<ClaimOutcome, 'pending'>): Promise<void> {
    await this.#send(['SET', this.#key('claim', key), outcome, 'XX', 'KEEPTTL']);
  }

  async claimOutcome(key: string): Promise<ClaimOutcome | undefined> {
    const reply = await this.#send(['GET', this.#key('claim', key)]);
    return reply === 'pending' || reply === 'success' || reply === 'failure' ? reply : undefined;
  }

  /** Whether the Argus breaker `key` is open: its small mark exists (it lives by a TTL). */
  async breaker(key: string): Promise<boolean> {
    return (await this.#send(['EXISTS', this.#key('breaker', key)])) === 1;
  }

  /** Opens the shared breaker `key` for `ttl` ms (a mark that ends by itself), or closes it. */
  async reportBreaker(key: string, report: BreakerReport): Promise<void> {
    const mark = this.#key('breaker', key);
    if (report.open) await this.#send(['SET', mark, '1', 'PX', String(Math.ceil(report.ttl))]);
    else await this.#send(['DEL', mark]);
  }

  /**
   * Claims the probe of breaker `key` for `ttl` ms from `now`, in one step: the slot is
   * taken unless a holder's interval has not ended, and lives `ttl` ms in Redis too.
   */
  async claimProbe(key: string, ttl: number, now: number): Promise<boolean> {
    const reply = await this.#send([
      'EVAL',
      PROBE,
      '1',
      this.#key('probe', key),
      String(Math.floor(now)),
      String(Math.ceil(now + ttl)),
      String(Math.ceil(ttl)),
    ]);
    return reply === 1;
  }
}

/** The successor record of a recorded link, if it is one. */
function readLink(raw: unknown): SuccessorRecord | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isJsonObject(value) || typeof value.next !== 'string') return undefined;
  const { next, tokens } = value;
  if (typeof tokens === 'string') return { next, tokens };
  // A link written by an earlier version held the set itself: read it during an upgrade.
  return isTokenSet(tokens) ? { next, tokens: JSON.stringify(tokens) } : undefined;
}
