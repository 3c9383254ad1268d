import type { RefreshCoordinator } from 'passport-argus';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from 'express-session';
import { Browser } from './helpers/browser.ts';
import { instancesOn } from './helpers/instances.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { captureWarnings, releaseWarnings } from './helpers/warnings.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const redisServer: RedisServer | undefined = await startRedisServer();
const { redisClient, instance, twoInstances, close } = instancesOn(redisServer);
const api = { headers: { accept: 'application/json' } };
const rotating = { rotateRefreshTokens: true, reuseDetection: true };

beforeEach(async () => {
  if (redisServer !== undefined) await (await redisClient()).flushAll();
});
afterEach(async () => {
  redisServer?.resume();
  restoreTime();
  await close();
  releaseWarnings();
});
afterAll(async () => {
  await redisServer?.stop();
});

/** The coordinator with the calls to `method` counted. */
function counting(method: keyof RefreshCoordinator, count: { calls: number }) {
  return (coordinator: RefreshCoordinator): RefreshCoordinator =>
    new Proxy(coordinator, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== 'function') return value;
        // Private fields need the real object as `this`.
        if (name !== method) return value.bind(target);
        return (...args: unknown[]) => {
          count.calls++;
          return value.apply(target, args);
        };
      },
    });
}

/** The coordinator whose next call to each of `methods` fails as a Redis error would. */
function failingOnce(...methods: (keyof RefreshCoordinator)[]) {
  return (coordinator: RefreshCoordinator): RefreshCoordinator => {
    const pending = new Set<string | symbol>(methods);
    return new Proxy(coordinator, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (pending.delete(name)) return Promise.reject(new Error('Connection is closed.'));
          return value.apply(target, args);
        };
      },
    });
  };
}

const refreshes = (emulator: {
  requestsTo(name: 'token'): { form?: Record<string, string[]> }[];
}) => emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token');

describe.skipIf(redisServer === undefined)('races across instances sharing Redis', () => {
  it('exchanges the code once for a callback sent to both instances at once', async () => {
    const { a, b } = await twoInstances(rotating);
    const browser = new Browser();
    await a.login(browser);
    await browser.request(`${a.url}/logout`, { method: 'POST' });
    const login = await browser.request(`${a.url}/login`);
    const authorize = await browser.request(login.headers.get('location') ?? '');
    const callback = new URL(authorize.headers.get('location') ?? '');
    a.emulator.clearRequests();
    const ended = () => a.emulator.grantEvents().filter((e) => e.type === 'ended').length;
    const endedBefore = ended();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        browser.request(`${(i % 2 ? b : a).url}${callback.pathname}${callback.search}`),
      ),
    );
    expect(answers.map((x) => x.status)).toEqual(Array(6).fill(302));
    expect(a.emulator.requestsTo('token')).toHaveLength(1);
    expect((await browser.request(`${b.url}/app/me`, api)).status).toBe(200);
    expect(ended()).toBe(endedBefore);
    expect(a.emulator.activeGrants('alice')).toBe(1);
  });

  it('keeps the refreshed tokens when recording them for other instances fails, and never spends a token twice', async () => {
    const warnings = captureWarnings();
    useMovableTime();
    const a = await instance({ emulator: rotating }, failingOnce('recordSuccessor'));
    const b = await instance({ sharedEmulator: a.emulator });
    const { browser } = await a.login();
    advance(400_000);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    // The record is retried while the lock is held; the other instance carries on with the
    // new tokens, and so does the next refresh.
    expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
    advance(400_000);
    expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
    expect(refreshes(a.emulator)).toHaveLength(2);
    expect(a.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
    expect(a.emulator.activeGrants('alice')).toBe(1);
    await vi.waitFor(() => expect(a.strategy.engine.pendingRetries).toBe(0));
    // With no "problem" listener, the failure is reported as a process warning.
    expect(warnings).toEqual([
      {
        name: 'Warning',
        code: 'PASSPORT_ARGUS_PROBLEM',
        message:
          'passport-argus: recording a refresh for other instances (retrying) failed: Connection is closed.',
      },
    ]);
  });

  it('keeps the session when the session store write after a refresh fails', async () => {
    const warnings = captureWarnings();
    useMovableTime();
    const a = await instance({ emulator: rotating });
    const { browser } = await a.login();
    // The store's next write fails: Argus's answer is kept in the process and recorded.
    const store = a.store as unknown as { set: (...args: unknown[]) => unknown };
    const set = store.set;
    store.set = function failOnce(...args: unknown[]) {
      store.set = set;
      const callback = args.at(-1);
      if (typeof callback === 'function') callback(new Error('Connection is closed.'));
      return Promise.reject(new Error('Connection is closed.')).catch(() => undefined);
    };
    advance(400_000);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    advance(400_000);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    expect(a.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
    expect(a.emulator.activeGrants('alice')).toBe(1);
    // With no "problem" listener, the failure is reported as a process warning.
    expect(warnings).toEqual([
      {
        name: 'Warning',
        code: 'PASSPORT_ARGUS_PROBLEM',
        message:
          'passport-argus: saving refreshed tokens to the session failed: Connection is closed.',
      },
    ]);
  });

  it('follows every recorded refresh on another instance when a copy older than the last two is saved back', async () => {
    useMovableTime();
    const { a, b } = await twoInstances(rotating);
    const { browser } = await a.login();
    const sid = a.sessionId(browser) ?? '';
    const stale = await a.storedSession(sid);
    for (let i = 0; i < 2; i++) {
      advance(400_000);
      expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    }
    await new Promise<void>((resolve, reject) =>
      b.store.set(sid, stale as never, (error) => (error ? reject(error) : resolve())),
    );
    expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
    advance(400_000);
    expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
    expect(refreshes(a.emulator)).toHaveLength(3);
    expect(a.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
    expect(a.emulator.activeGrants('alice')).toBe(1);
  });

  it('sends no waiter on another instance to Argus once the session was logged out', async () => {
    useMovableTime();
    const acquires = { calls: 0 };
    const a = await instance({ emulator: rotating });
    const b = await instance({ sharedEmulator: a.emulator }, counting('acquire', acquires));
    const { browser } = await a.login();
    a.emulator.clearRequests();
    // Inside the refresh window, still valid: A refreshes slowly; B's request waits for A.
    advance(270_000);
    a.emulator.failNext('token', { delay: 400 });
    const leading = browser.request(`${a.url}/app/me`, api);
    await vi.waitFor(() => expect(refreshes(a.emulator)).toHaveLength(1));
    const waiting = browser.request(`${b.url}/app/me`, api);
    await vi.waitFor(() => expect(acquires.calls).toBeGreaterThan(0));
    const logout = await browser.request(`${a.url}/logout`, { method: 'POST', ...api });
    expect(logout.status).toBe(204);
    const [lead, wait] = await Promise.all([leading, waiting]);
    expect(lead.status).toBe(401);
    expect(wait.status).toBe(401);
    expect(JSON.parse(wait.body)).toEqual({ error: 'session_expired' });
    expect(refreshes(a.emulator)).toHaveLength(1);
    expect(a.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
  });

  it('answers within the timeout while Redis is stalled: 503 with Retry-After, session kept', async () => {
    useMovableTime();
    // The coordinator on the stalled Redis; the sessions in memory, so only coordination stalls.
    const a = await instance({ store: new MemoryStore(), strategy: { timeout: 1000 } });
    const { browser } = await a.login();
    advance(400_000);
    redisServer?.pause();
    const stalled = await browser.request(`${a.url}/app/me`, api);
    expect(stalled.status).toBe(503);
    expect(stalled.headers.get('retry-after')).toBe('5');
    redisServer?.resume();
    const back = await browser.request(`${a.url}/app/me`, api);
    expect(back.status).toBe(200);
  });
});
