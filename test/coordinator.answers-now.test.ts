/**
 * The in-process coordinator answers a login's claim, its outcome and the logout check of
 * every session write at once, without a promise. These tests hold that path to the one a
 * shared store takes: the same claims, outcomes, writes, discards and destroys, with the
 * in-process coordinator as it is (answered at once), the same coordinator behind
 * promise-returning methods, and Redis.
 */
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgusClient } from '../lib/core/argus-client.ts';
import {
  LocalRefreshCoordinator,
  localAnswers,
  type RefreshCoordinator,
} from '../lib/core/coordinator.ts';
import { resolveOptions } from '../lib/core/options.ts';
import { RedisRefreshCoordinator } from '../lib/core/redis-coordinator.ts';
import { RefreshEngine } from '../lib/core/refresh-engine.ts';
import { gateStore } from '../lib/core/store-gate.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';

const TIMEOUT = 1000;

/** The in-process coordinator behind methods of its own: only its promises are seen. */
function throughPromises(inner: LocalRefreshCoordinator): RefreshCoordinator {
  return {
    acquire: () => inner.acquire(),
    recordSuccessor: (key, replaced, successor) => inner.recordSuccessor(key, replaced, successor),
    facts: (key, replaced) => inner.facts(key, replaced),
    markLoggedOut: (key, ttl) => inner.markLoggedOut(key, ttl),
    claim: (key, ttl) => inner.claim(key, ttl),
    settleClaim: (key, outcome) => inner.settleClaim(key, outcome),
    claimOutcome: (key) => inner.claimOutcome(key),
  };
}

function engineWith(coordinator: RefreshCoordinator): RefreshEngine {
  const options = resolveOptions({
    clientID: 'client',
    clientSecret: 'secret',
    callbackURL: 'http://127.0.0.1:1/oauth/callback',
    portalURL: 'http://127.0.0.1:1',
    apiURL: 'http://127.0.0.1:1',
  });
  const engine = new RefreshEngine(new ArgusClient(options), { coordinator, timeout: TIMEOUT });
  engine.on('problem', () => undefined);
  return engine;
}

/** A callback-style store (express-session's), with hooks into its writes. */
class CallbackStore {
  readonly records = new Map<string, unknown>();
  /** Runs inside `set`, before the write lands. */
  during: (() => Promise<void>) | undefined;
  /** Fails the next write with this error. */
  failNext: Error | undefined;
  /** Also returns a promise from `set` (a store that does both). */
  alsoPromise = false;
  destroyed = 0;

  set(key: string, record: unknown, callback?: (error?: unknown) => void): unknown {
    const land = async () => {
      await this.during?.();
      const error = this.failNext;
      this.failNext = undefined;
      if (error === undefined) this.records.set(key, JSON.parse(JSON.stringify(record)));
      if (error) throw error;
    };
    const landed = land();
    landed.then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
    return this.alsoPromise ? landed : undefined;
  }

  destroy(key: string, callback?: (error?: unknown) => void): void {
    this.destroyed++;
    this.records.delete(key);
    callback?.();
  }
}

const RECORD = {
  cookie: {},
  argus: {
    accessToken: 'a-token',
    refreshToken: 'r-token',
    tokenType: 'Bearer',
    expiresAt: Date.now() + 300_000,
    obtainedAt: Date.now(),
    loggedInAt: Date.now(),
  },
};

/** Writes RECORD under `key` through the gated store; resolves with the callback's error. */
function write(store: CallbackStore, key: string): Promise<unknown> {
  return new Promise((resolve) => store.set(key, RECORD, (error?: unknown) => resolve(error)));
}

const redisServer: RedisServer | undefined = await startRedisServer();
const makeClient = () => createClient({ url: redisServer?.url });
const redisClients: ReturnType<typeof makeClient>[] = [];
let prefixes = 0;

afterAll(async () => {
  for (const client of redisClients) await client.quit();
  await redisServer?.stop();
});

async function redisCoordinator(): Promise<RefreshCoordinator> {
  const client = makeClient();
  client.on('error', () => undefined);
  await client.connect();
  redisClients.push(client);
  return new RedisRefreshCoordinator(client, { prefix: `answers-now-${++prefixes}:` });
}

const paths: [string, () => Promise<RefreshCoordinator>, boolean][] = [
  ['answered at once (LocalRefreshCoordinator)', async () => new LocalRefreshCoordinator(), true],
  [
    'through promises (the same coordinator behind methods of its own)',
    async () => throughPromises(new LocalRefreshCoordinator()),
    false,
  ],
];
if (redisServer !== undefined) paths.push(['through Redis', redisCoordinator, false]);

describe.each(paths)('a coordinator %s', (_name, make, atOnce) => {
  it(atOnce ? 'is asked at once' : 'is asked through its promises', async () => {
    expect(localAnswers(await make()) !== undefined).toBe(atOnce);
  });

  it('lets the first callback claim a state, and tells a copy how that one ended', async () => {
    const engine = engineWith(await make());
    const first = await engine.claimLogin('state-1');
    expect(first.won).toBe(true);
    if (!first.won) return;
    const copy = engine.claimLogin('state-1');
    first.settle('success');
    first.settle('failure');
    expect(await copy).toEqual({ won: false, outcome: 'success' });
    expect(await engine.claimedOutcome('state-1')).toBe('success');
    expect(await engine.claimedOutcome('state-never-claimed')).toBeUndefined();
  });

  it('tells a copy of a failed login that it failed', async () => {
    const engine = engineWith(await make());
    const first = await engine.claimLogin('state-2');
    if (!first.won) throw new Error('the first claim lost');
    first.settle('failure');
    expect(await engine.claimLogin('state-2')).toEqual({ won: false, outcome: 'failure' });
  });

  it('writes a logged-in record to the store', async () => {
    const engine = engineWith(await make());
    const store = new CallbackStore();
    gateStore(store, engine);
    expect(await write(store, 'sid-1')).toBeUndefined();
    expect(store.records.get('sid-1')).toEqual(RECORD);
  });

  it('writes nothing for a session already logged out, and calls back without an error', async () => {
    const engine = engineWith(await make());
    const store = new CallbackStore();
    gateStore(store, engine);
    await engine.endSession('sid-2');
    expect(await write(store, 'sid-2')).toBeUndefined();
    expect(store.records.has('sid-2')).toBe(false);
  });

  it('sees a logout marked by another engine on the same coordinator', async () => {
    const coordinator = await make();
    const engine = engineWith(coordinator);
    const other = engineWith(coordinator);
    const store = new CallbackStore();
    gateStore(store, engine);
    await other.endSession('sid-3');
    expect(await write(store, 'sid-3')).toBeUndefined();
    expect(store.records.has('sid-3')).toBe(false);
  });

  it('destroys the record when the session was logged out while the write landed', async () => {
    const engine = engineWith(await make());
    const store = new CallbackStore();
    gateStore(store, engine);
    store.during = () => engine.endSession('sid-4');
    expect(await write(store, 'sid-4')).toBeUndefined();
    expect(store.records.has('sid-4')).toBe(false);
    expect(store.destroyed).toBe(1);
  });

  it("hands the store's error to the caller", async () => {
    const engine = engineWith(await make());
    const store = new CallbackStore();
    gateStore(store, engine);
    store.failNext = new Error('store down');
    expect(await write(store, 'sid-5')).toEqual(new Error('store down'));
  });

  it('calls back once for a store that calls back and returns a promise', async () => {
    const engine = engineWith(await make());
    const store = new CallbackStore();
    store.alsoPromise = true;
    gateStore(store, engine);
    let calls = 0;
    await new Promise<void>((resolve) =>
      store.set('sid-6', RECORD, () => {
        calls++;
        resolve();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1);
    expect(store.records.get('sid-6')).toEqual(RECORD);
  });
});

describe('the answers at once', () => {
  it('are not used once a method of the in-process coordinator is replaced', async () => {
    const coordinator = new LocalRefreshCoordinator();
    expect(localAnswers(coordinator)).toBe(coordinator);
    coordinator.facts = async () => ({ loggedOut: true });
    expect(localAnswers(coordinator)).toBeUndefined();
    const engine = engineWith(coordinator);
    const store = new CallbackStore();
    gateStore(store, engine);
    // The replaced method says logged out: the write goes through it, and is discarded.
    expect(await write(store, 'sid-7')).toBeUndefined();
    expect(store.records.has('sid-7')).toBe(false);
  });
});
