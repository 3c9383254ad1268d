import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET, SECRET, type TestApp } from './helpers/app.ts';
import { instancesOn } from './helpers/instances.ts';
import { Browser } from './helpers/browser.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const redisServer: RedisServer | undefined = await startRedisServer();
const { clients, redisClient, twoInstances, close } = instancesOn(redisServer);
const api = { headers: { accept: 'application/json' } };

async function sessionKeys(): Promise<string[]> {
  const client = clients[0] ?? (await redisClient());
  return (await client.keys('sess:*')).sort();
}

beforeEach(async () => {
  if (redisServer !== undefined) await (await redisClient()).flushAll();
});
afterEach(async () => {
  restoreTime();
  await close();
});
afterAll(async () => {
  await redisServer?.stop();
});

describe.skipIf(redisServer === undefined)(
  'several instances sharing a Redis session store',
  () => {
    it('refreshes once for 100 concurrent requests of one session spread over two instances', async () => {
      useMovableTime();
      const { a, b } = await twoInstances({ rotateRefreshTokens: true, reuseDetection: true });
      const { browser } = await a.login();
      const sid = a.sessionId(browser) ?? '';
      const before = (await a.storedSession(sid))?.argus as {
        accessToken: string;
        refreshToken: string;
      };
      a.emulator.clearRequests();
      advance(400_000);
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          browser.request(`${(i % 2 ? b : a).url}/app/argus`, api),
        ),
      );
      expect(answers.map((x) => x.status)).toEqual(Array(100).fill(200));
      expect(answers.every((x) => JSON.parse(x.body).userName === 'alice')).toBe(true);
      expect(a.emulator.requestsTo('token')).toHaveLength(1);
      const after = (await b.storedSession(sid))?.argus as {
        accessToken: string;
        refreshToken: string;
      };
      expect(after.accessToken).not.toBe(before.accessToken);
      expect(after.refreshToken).not.toBe(before.refreshToken);
      // The stored tokens are the newest: the next refresh, on either instance, succeeds.
      advance(400_000);
      expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
      expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
      expect(a.emulator.requestsTo('token')).toHaveLength(2);
      expect(a.emulator.activeGrants('alice')).toBe(1);
    });

    it('survives a stale copy of the session saved over the new tokens on another instance', async () => {
      useMovableTime();
      const { a, b } = await twoInstances({ rotateRefreshTokens: true, reuseDetection: true });
      const { browser } = await a.login();
      const sid = a.sessionId(browser) ?? '';
      const stale = await a.storedSession(sid);
      advance(400_000);
      expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
      // A slow request on instance B, which loaded the session before the refresh, ends now
      // and writes its old copy back (express-session's resave, or any change it made).
      await new Promise<void>((resolve, reject) =>
        b.store.set(sid, stale as never, (error) => (error ? reject(error) : resolve())),
      );
      const again = await browser.request(`${b.url}/app/argus`, api);
      expect(again.status).toBe(200);
      expect(
        a.emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token'),
      ).toHaveLength(1);
    });

    it('leaves no session record behind in Redis after login and logout', async () => {
      const { a } = await twoInstances();
      expect(await sessionKeys()).toEqual([]);
      const browser = new Browser();
      await browser.request(`${a.url}/login`);
      expect(await sessionKeys()).toHaveLength(1);
      await a.login(browser);
      const sid = a.sessionId(browser);
      expect(await sessionKeys()).toEqual([`sess:${sid}`]);
      await browser.request(`${a.url}/logout`, { method: 'POST' });
      expect(await sessionKeys()).toEqual([]);
    });

    it('removes the session record from Redis when Argus rejects the refresh', async () => {
      useMovableTime();
      const { a, b } = await twoInstances();
      const { browser } = await a.login();
      a.emulator.logoutUser('alice');
      advance(400_000);
      const answer = await browser.request(`${b.url}/app/me`, api);
      expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
      expect(await sessionKeys()).toEqual([]);
    });

    it('answers a request waiting on a stuck lock holder within its own timeout: 503 with Retry-After, session kept', async () => {
      const { a } = await twoInstances({ rotateRefreshTokens: true, reuseDetection: true });
      const { browser } = await a.login();
      // The other instance holds the lock for 9 s while its Argus call hangs; this one's
      // timeout is 2 s.
      const other = await startInstanceProcess(a, 8000, 9000);
      try {
        a.emulator.failNext('token', { hang: true });
        const cookie = `connect.sid=${browser.cookie(a.url, 'connect.sid')}`;
        void fetch(`${other.url}/app/refresh`, {
          method: 'POST',
          headers: { cookie, accept: 'application/json' },
        }).catch(() => undefined);
        await vi.waitFor(() =>
          expect(
            a.emulator
              .requestsTo('token')
              .filter((r) => r.form?.grant_type?.[0] === 'refresh_token'),
          ).toHaveLength(1),
        );
        useMovableTime();
        advance(400_000);
        const answer = await browser.request(`${a.url}/app/me`, api);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('5');
        expect(
          a.emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token'),
        ).toHaveLength(1);
      } finally {
        other.child.kill('SIGKILL');
      }
    });

    it('lets another instance refresh after the TTL when the lock holder was killed', async () => {
      const { a } = await twoInstances({ rotateRefreshTokens: true, reuseDetection: true });
      const { browser } = await a.login();
      const sid = a.sessionId(browser) ?? '';
      // The shortest lock the strategy accepts: its timeout plus 1000 ms. The hanging call
      // is killed long before its own timeout.
      const timeout = 1000;
      const other = await startInstanceProcess(a, timeout, timeout + 1000);
      try {
        // The other instance takes the lock and its refresh call never returns.
        a.emulator.failNext('token', { hang: true });
        const cookie = `connect.sid=${browser.cookie(a.url, 'connect.sid')}`;
        void fetch(`${other.url}/app/refresh`, {
          method: 'POST',
          headers: { cookie, accept: 'application/json' },
        }).catch(() => undefined);
        const lockKey = `passport-argus:lock:${sid}`;
        const redis = await redisClient();
        const refreshing = () =>
          a.emulator.requestsTo('token').some((r) => r.form?.grant_type?.[0] === 'refresh_token');
        for (let i = 0; i < 500 && !refreshing(); i++) await new Promise((r) => setTimeout(r, 10));
        expect(refreshing()).toBe(true);
        expect(await redis.exists(lockKey)).toBe(1);
        other.child.kill('SIGKILL');
        useMovableTime();
        advance(400_000);
        const answer = await browser.request(`${a.url}/app/argus`, api);
        expect(answer.status).toBe(200);
        expect(
          a.emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token'),
        ).toHaveLength(2);
      } finally {
        other.child.kill('SIGKILL');
      }
    });

    it('gives clear errors while Redis is down, does not crash, and works again once it is back', async () => {
      const { a } = await twoInstances();
      const { browser } = await a.login();
      await redisServer?.stop();
      const down = await browser.request(`${a.url}/app/me`, api);
      expect(down.status).toBe(500);
      expect(JSON.parse(down.body)).toEqual({ error: 'internal' });
      expect(a.errors.length).toBeGreaterThan(0);
      await redisServer?.start();
      // The server kept no data (no persistence): the user logs in again and carries on.
      for (let i = 0; i < 100 && !clients.every((c) => c.isReady); i++)
        await new Promise((r) => setTimeout(r, 20));
      const fresh = new Browser();
      const { landing } = await a.login(fresh);
      expect(landing.body).toBe('home of alice');
      expect((await fresh.request(`${a.url}/app/argus`, api)).status).toBe(200);
    });
  },
);

async function startInstanceProcess(
  a: TestApp,
  timeout: number,
  lockTtl: number,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/instance-process.ts'], {
    env: {
      ...process.env,
      REDIS_URL: redisServer?.url,
      CLIENT_ID,
      CLIENT_SECRET,
      CALLBACK_URL: a.callbackURL,
      ARGUS_URL: a.emulator.url,
      SECRET,
      TIMEOUT: String(timeout),
      LOCK_TTL: String(lockTtl),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk) => {
      text += chunk;
      const match = /listening (\S+)/.exec(text);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`instance exited with ${code}`)));
  });
  return { url, child };
}
