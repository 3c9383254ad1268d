import { once } from 'node:events';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.ts';
import type { TestApp } from './helpers/app.ts';
import { instancesOn } from './helpers/instances.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';
import { record } from './helpers/events.ts';

const redisServer: RedisServer | undefined = await startRedisServer();
const { redisClient, instance, close } = instancesOn(redisServer);
const api = { headers: { accept: 'application/json' } };
const breaker = { failures: 2, probeInterval: 5000 };
const EXPIRED = 400_000;

beforeEach(async () => {
  if (redisServer !== undefined) await (await redisClient()).flushAll();
  useMovableTime();
});
afterEach(async () => {
  restoreTime();
  await close();
});
afterAll(async () => {
  await redisServer?.stop();
});

/** Two instances sharing Redis and one emulator, with the test breaker. */
async function twoInstances(
  strategy: object = { timeout: 300, breaker },
): Promise<{ a: TestApp; b: TestApp }> {
  const a = await instance({ strategy });
  const b = await instance({ sharedEmulator: a.emulator, strategy });
  return { a, b };
}

describe.skipIf(redisServer === undefined)(
  'the Argus breaker across instances sharing Redis',
  () => {
    it('opens on the other instance too: its expired session gets 503 at once, without a call', async () => {
      const { a, b } = await twoInstances();
      const openedB = record(b, 'breaker-open');
      const { browser } = await a.login();
      a.emulator.clearRequests();
      advance(EXPIRED);
      a.emulator.failNext('token', { status: 503, times: 2 });
      for (let i = 0; i < 2; i++) {
        expect((await browser.request(`${a.url}/app/me`, api)).status).toBe(503);
      }
      const down = await browser.request(`${b.url}/app/me`, api);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(down.body)).toEqual({ error: 'argus_unavailable' });
      expect(a.emulator.requestsTo('token')).toHaveLength(2);
      expect(openedB).toEqual([{ failures: 0, source: 'shared', service: 'authentication' }]);
    });

    it('probes once per interval across both instances, and the probe closes the other instance too', async () => {
      const { a, b } = await twoInstances();
      const closed = [...[a, b].map((on) => record(on, 'breaker-close'))];
      const { browser: alice } = await a.login();
      const { browser: bob } = await a.login(new Browser(), 'bob');
      a.emulator.clearRequests();
      advance(EXPIRED);
      a.emulator.failNext('token', { status: 503, times: 2 });
      for (let i = 0; i < 2; i++) await alice.request(`${a.url}/app/me`, api);
      expect((await bob.request(`${b.url}/app/me`, api)).status).toBe(503);
      expect(a.emulator.requestsTo('token')).toHaveLength(2);

      // One interval later Argus is back. Both instances are due to probe at once, with a
      // session each: one of them wins the slot and refreshes; the other answers 503.
      advance(breaker.probeInterval);
      const both = await Promise.all([
        alice.request(`${a.url}/app/me`, api),
        bob.request(`${b.url}/app/me`, api),
      ]);
      expect(both.map((x) => x.status).sort()).toEqual([200, 503]);
      expect(a.emulator.requestsTo('token')).toHaveLength(3);

      // The loser learns at its next look that the probe succeeded, and refreshes.
      advance(breaker.probeInterval);
      expect((await alice.request(`${a.url}/app/me`, api)).status).toBe(200);
      expect((await bob.request(`${b.url}/app/me`, api)).status).toBe(200);
      expect(a.emulator.requestsTo('token')).toHaveLength(4);
      expect(
        closed
          .flat()
          .map((event) => event.source)
          .sort(),
      ).toEqual(['local', 'shared']);
    });

    it("answers a request waiting on the other instance's slow refresh within slowCall and a second, and both use the late answer", async () => {
      const { a, b } = await twoInstances({
        timeout: 10_000,
        breaker: { ...breaker, slowCall: 100 },
      });
      const { browser } = await a.login();
      a.emulator.clearRequests();
      const refreshed = once(a.strategy.events, 'refresh');
      advance(EXPIRED);
      a.emulator.failNext('token', { delay: 2500 });
      // Instance a holds the session's lock while Argus takes its time.
      expect((await browser.request(`${a.url}/app/me`, api)).status).toBe(503);
      // Instance b waits for that lock no longer than slowCall and a second, not the
      // whole timeout (the test's own limit is 5 s), and makes no call of its own.
      const waited = await browser.request(`${b.url}/app/me`, api);
      expect(waited.status).toBe(503);
      expect(waited.headers.get('retry-after')).toBe('5');
      await refreshed;
      for (const on of [a, b]) {
        expect((await browser.request(`${on.url}/app/me`, api)).status).toBe(200);
      }
      expect(a.emulator.requestsTo('token')).toHaveLength(1);
    });
  },
);
