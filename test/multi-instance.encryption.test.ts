/**
 * Encryption at rest across instances sharing a real redis-server: nothing in Redis (the
 * connect-redis session records, and the RedisRefreshCoordinator's successor records,
 * markers and claims) holds a token string, and another instance still follows a sealed
 * successor record instead of spending a refresh token twice.
 */
import { randomBytes } from 'node:crypto';
import type { EncryptionKey } from 'passport-argus';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.ts';
import { instancesOn } from './helpers/instances.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const redisServer: RedisServer | undefined = await startRedisServer();
const { redisClient, instance, close } = instancesOn(redisServer);
const api = { headers: { accept: 'application/json' } };
const rotating = { rotateRefreshTokens: true, reuseDetection: true };
const KEY: EncryptionKey = { id: 'k1', key: randomBytes(32) };
/** An emulator access token: `<user>/<64 random characters>`. */
const ACCESS_TOKEN = /[a-z]+\/[A-Za-z0-9]{64}/;

beforeEach(async () => {
  useMovableTime();
  if (redisServer !== undefined) await (await redisClient()).flushAll();
});
afterEach(async () => {
  restoreTime();
  await close();
});
afterAll(async () => {
  await redisServer?.stop();
});

/** Every key in Redis with its value as text: strings as they are, hashes field by field. */
async function redisDump(): Promise<Map<string, string>> {
  const redis = await redisClient();
  const dump = new Map<string, string>();
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    if (type === 'string') dump.set(key, (await redis.get(key)) ?? '');
    else if (type === 'hash') dump.set(key, JSON.stringify(await redis.hGetAll(key)));
    else dump.set(key, `(${type})`);
  }
  return dump;
}

/** The token strings Argus received: bearer tokens and refresh tokens. */
function tokensSeen(app: TestApp): string[] {
  const seen = new Set<string>();
  for (const request of app.emulator.requests) {
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) seen.add(auth.slice(7));
    const refresh = request.form?.refresh_token?.[0];
    if (refresh !== undefined) seen.add(refresh);
  }
  return [...seen];
}

const refreshes = (app: TestApp) =>
  app.emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token');

describe.skipIf(redisServer === undefined)('encryption at rest with Redis', () => {
  it('keeps no token string anywhere in Redis, and another instance follows a sealed successor record', async () => {
    const withKey = { strategy: { encryptionKeys: [KEY] } };
    const a = await instance({ emulator: rotating, ...withKey });
    const b = await instance({ sharedEmulator: a.emulator, ...withKey });
    const { browser } = await a.login();
    const sid = a.sessionId(browser) ?? '';
    const stale = await a.storedSession(sid);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    advance(400_000);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    expect(refreshes(a)).toHaveLength(1);

    const dump = await redisDump();
    const successors = [...dump].filter(([key]) => key.startsWith('passport-argus:successors:'));
    expect(successors).toHaveLength(1);
    const links = Object.values(JSON.parse(successors[0]?.[1] ?? '{}') as Record<string, string>);
    expect(links).toHaveLength(1);
    expect(JSON.parse(links[0] ?? '{}')).toEqual({
      next: expect.stringMatching(/^[\w-]{32}$/),
      tokens: expect.stringMatching(/^v1\.k1\./),
    });
    const session = JSON.parse(dump.get(`sess:${sid}`) ?? '{}');
    expect(session.argus.sealed).toMatch(/^v1\.k1\./);
    // Both access tokens and the spent and current refresh tokens went to Argus by now.
    expect(tokensSeen(a).length).toBeGreaterThanOrEqual(3);
    const everything = [...dump].map(([key, value]) => `${key} ${value}`).join('\n');
    expect(everything).not.toMatch(ACCESS_TOKEN);
    for (const token of tokensSeen(a)) expect(everything).not.toContain(token);

    // A request of this session that loaded the record before the refresh saves it back;
    // the other instance then holds the replaced set and must reach the new one through
    // the sealed successor record, not by spending the rotated refresh token again.
    await (await redisClient()).set(`sess:${sid}`, JSON.stringify(stale));
    expect((await browser.request(`${b.url}/app/argus`, api)).status).toBe(200);
    expect(refreshes(a)).toHaveLength(1);
    expect(a.emulator.grantEvents().filter((e) => e.type === 'reused')).toEqual([]);
    expect(a.emulator.activeGrants('alice')).toBe(1);

    // The logout marker holds no token either.
    expect((await browser.request(`${b.url}/logout`, { method: 'POST' })).status).toBe(303);
    const after = [...(await redisDump())].map(([key, value]) => `${key} ${value}`).join('\n');
    expect(after).toContain('passport-argus:loggedout:');
    expect(after).not.toMatch(ACCESS_TOKEN);
    for (const token of tokensSeen(a)) expect(after).not.toContain(token);
  });

  it('ignores a successor record changed in Redis, never crashes on it, and ends the session at Argus’s reuse check', async () => {
    const withKey = { strategy: { encryptionKeys: [KEY] } };
    const a = await instance({ emulator: rotating, ...withKey });
    const b = await instance({ sharedEmulator: a.emulator, ...withKey });
    const { browser } = await a.login();
    const sid = a.sessionId(browser) ?? '';
    const stale = await a.storedSession(sid);
    advance(400_000);
    expect((await browser.request(`${a.url}/app/argus`, api)).status).toBe(200);
    const redis = await redisClient();
    const hash = `passport-argus:successors:${sid}`;
    const [field, link] = Object.entries(await redis.hGetAll(hash))[0] ?? [];
    const record = JSON.parse(link ?? '{}') as { next: string; tokens: string };
    // One character in the middle of the ciphertext (the last one may carry only padding bits).
    const at = record.tokens.length - 20;
    const swap = record.tokens[at] === 'A' ? 'B' : 'A';
    const changed = `${record.tokens.slice(0, at)}${swap}${record.tokens.slice(at + 1)}`;
    await redis.hSet(hash, field ?? '', JSON.stringify({ ...record, tokens: changed }));
    await redis.set(`sess:${sid}`, JSON.stringify(stale));

    // B cannot open the record, so it refreshes with the replaced set: Argus sees a spent
    // refresh token and ends the grant, and the user is logged out cleanly.
    const answer = await browser.request(`${b.url}/app/argus`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(refreshes(a)).toHaveLength(2);
    expect(b.errors).toEqual([]);
  });
});
