/**
 * Token sets encrypted at rest (`encryptionKeys`), over real HTTP in Express and Koa: what
 * the session store holds, the whole life of a session, key rotation, and sealed sets that
 * do not open (another key, changed, moved to another session), which count as logged out.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EncryptionKey } from 'passport-argus';
import type { Browser } from '../helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from '../helpers/time.ts';
import {
  FRAMEWORKS,
  type ScenarioApp,
  type ScenarioOptions,
  type StartScenarioApp,
} from './adapters.ts';

const KEY_A: EncryptionKey = { id: 'key-a', key: randomBytes(32).toString('base64') };
const KEY_B: EncryptionKey = { id: 'key-b', key: randomBytes(32) };

const api = { headers: { accept: 'application/json' } };
/** An emulator access token: `<user>/<64 random characters>`. */
const ACCESS_TOKEN = /[a-z]+\/[A-Za-z0-9]{64}/;

let apps: ScenarioApp[] = [];
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  // The instances that share another's emulator close first.
  for (const app of apps.reverse()) await app.close();
  apps = [];
});

interface Sealed {
  sealed: string;
  expiresAt: number;
  obtainedAt: number;
}

describe.each(FRAMEWORKS)('token sets encrypted at rest in %s', (_name, startApp) => {
  const start = async (options: ScenarioOptions = {}) => {
    const app = await (startApp as StartScenarioApp)(options);
    apps.push(app);
    return app;
  };
  const withKeys = (keys: EncryptionKey[], more: ScenarioOptions = {}) =>
    start({ ...more, strategy: { encryptionKeys: keys, ...more.strategy } });

  const stored = async (app: ScenarioApp, browser: Browser) =>
    app.storedSession(app.sessionId(browser) ?? '');
  const sealedIn = async (app: ScenarioApp, browser: Browser) =>
    (await stored(app, browser))?.argus as Sealed | undefined;
  const keyIdOf = (value: Sealed | undefined) => value?.sealed.split('.')[1];

  /** The token strings Argus received from the app so far: bearer tokens and refresh tokens. */
  function tokensSeen(app: ScenarioApp): string[] {
    const seen = new Set<string>();
    for (const request of app.emulator.requests) {
      const auth = request.headers.authorization;
      if (typeof auth === 'string' && auth.startsWith('Bearer ')) seen.add(auth.slice(7));
      const refresh = request.form?.refresh_token?.[0];
      if (refresh !== undefined) seen.add(refresh);
    }
    return [...seen];
  }

  /** The record as the store holds it, checked for every token string Argus has seen. */
  async function expectNoTokenIn(app: ScenarioApp, browser: Browser): Promise<void> {
    const text = JSON.stringify(await stored(app, browser));
    expect(text).not.toMatch(ACCESS_TOKEN);
    for (const token of tokensSeen(app)) expect(text).not.toContain(token);
  }

  it('stores the token set sealed, with no token string in the record, through login, API call, refresh and logout', async () => {
    const app = await withKeys([KEY_A]);
    const { browser, landing } = await app.login();
    expect(landing.status).toBe(200);
    const sealed = await sealedIn(app, browser);
    expect(sealed).toEqual({
      sealed: expect.stringMatching(/^v1\.key-a\.[\w-]{16}\.[\w-]+$/),
      expiresAt: expect.any(Number),
      obtainedAt: expect.any(Number),
    });
    await expectNoTokenIn(app, browser);

    const user = await browser.request(`${app.url}/app/argus`, api);
    expect(user.status).toBe(200);
    expect(JSON.parse(user.body).userName).toBe('alice');
    expect(tokensSeen(app)).toHaveLength(1);
    await expectNoTokenIn(app, browser);

    advance(250_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    const grants = app.emulator.requestsTo('token').map((r) => r.form?.grant_type?.[0]);
    expect(grants).toEqual(['authorization_code', 'refresh_token']);
    // The old access token, the refresh token and the new access token.
    expect(tokensSeen(app)).toHaveLength(3);
    const refreshed = await sealedIn(app, browser);
    expect(refreshed?.obtainedAt).toBeGreaterThan(sealed?.obtainedAt ?? 0);
    expect(refreshed?.sealed).not.toBe(sealed?.sealed);
    await expectNoTokenIn(app, browser);

    const sid = app.sessionId(browser) ?? '';
    expect((await browser.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);
    expect(app.emulator.requestsTo('session-delete')).toHaveLength(1);
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(app.errors).toEqual([]);
  });

  it('lets a fresh token through without a session write, and reads the expiry without opening the set', async () => {
    const app = await withKeys([KEY_A]);
    const { browser } = await app.login();
    const before = JSON.stringify(await stored(app, browser));
    advance(100_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(answer.status).toBe(200);
    const sealed = await sealedIn(app, browser);
    expect(new Date(JSON.parse(answer.body).expiresAt).getTime()).toBe(sealed?.expiresAt);
    expect(JSON.stringify(await stored(app, browser))).toBe(before);
  });

  it('rotates keys: [B, A] reads what A sealed and seals it again with B at the next refresh; [B] alone then reads it', async () => {
    const first = await withKeys([KEY_A]);
    const { browser } = await first.login();
    expect(keyIdOf(await sealedIn(first, browser))).toBe('key-a');

    const rotated = await withKeys([KEY_B, KEY_A], { shareWith: first });
    expect((await browser.request(`${rotated.url}/app/argus`, api)).status).toBe(200);
    // Read, not written: nothing changed in the session.
    expect(keyIdOf(await sealedIn(rotated, browser))).toBe('key-a');

    advance(250_000);
    expect((await browser.request(`${rotated.url}/app/argus`, api)).status).toBe(200);
    expect(first.emulator.requestsTo('token')).toHaveLength(2);
    expect(keyIdOf(await sealedIn(rotated, browser))).toBe('key-b');
    await expectNoTokenIn(rotated, browser);

    const onlyB = await withKeys([KEY_B], { shareWith: first });
    expect((await browser.request(`${onlyB.url}/app/argus`, api)).status).toBe(200);
    expect([...first.errors, ...rotated.errors, ...onlyB.errors]).toEqual([]);
  });

  it('treats a set sealed with a key it does not hold as logged out: [B] alone after A', async () => {
    const first = await withKeys([KEY_A]);
    const { browser } = await first.login();
    const onlyB = await withKeys([KEY_B], { shareWith: first });
    first.emulator.clearRequests();

    const json = await browser.request(`${onlyB.url}/app/me`, api);
    expect(json.status).toBe(401);
    expect(JSON.parse(json.body)).toEqual({ error: 'login_required' });
    const page = await browser.request(`${onlyB.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect(onlyB.errors).toEqual([]);
    expect(first.emulator.requests).toEqual([]);
  });

  it('reads a set stored in clear before encryption was turned on, and seals it at its next write', async () => {
    const before = await start();
    const { browser } = await before.login();
    expect(typeof (await stored(before, browser))?.argus).toBe('object');
    expect(JSON.stringify(await stored(before, browser))).toMatch(ACCESS_TOKEN);

    const after = await withKeys([KEY_A], { shareWith: before });
    expect((await browser.request(`${after.url}/app/argus`, api)).status).toBe(200);
    advance(250_000);
    expect((await browser.request(`${after.url}/app/argus`, api)).status).toBe(200);
    expect(keyIdOf(await sealedIn(after, browser))).toBe('key-a');
    await expectNoTokenIn(after, browser);
  });

  it('logs out a session whose sealed set was changed in the store, without a 500', async () => {
    const app = await withKeys([KEY_A]);
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    const record = (await app.storedSession(sid)) ?? {};
    const sealed = record.argus as Sealed;
    // One character of the ciphertext changed: the GCM tag no longer verifies.
    const last = sealed.sealed.at(-2) === 'A' ? 'B' : 'A';
    const changed = `${sealed.sealed.slice(0, -2)}${last}${sealed.sealed.at(-1)}`;
    await app.overwriteSession(sid, { ...record, argus: { ...sealed, sealed: changed } });
    app.emulator.clearRequests();

    // The guard lets a fresh-looking set through without decrypting; the first token use
    // finds it out, and the set is dropped from the session.
    const call = await browser.request(`${app.url}/app/argus`, api);
    expect(call.status).toBe(401);
    expect(app.emulator.requests).toEqual([]);
    expect((await app.storedSession(sid))?.argus).toBeUndefined();
    const after = await browser.request(`${app.url}/app/me`, api);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.body)).toEqual({ error: 'login_required' });
    expect(app.errors.map((error) => (error as { status?: number }).status)).toEqual([401]);
  });

  it('logs out a session whose clear expiry was moved forward in the store: the sealed copy disagrees', async () => {
    const app = await withKeys([KEY_A]);
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    const record = (await app.storedSession(sid)) ?? {};
    const sealed = record.argus as Sealed;
    await app.overwriteSession(sid, {
      ...record,
      argus: { ...sealed, expiresAt: sealed.expiresAt + 3_600_000 },
    });
    app.emulator.clearRequests();
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(401);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
    expect(app.emulator.requests).toEqual([]);
  });

  it('logs out at the refresh a session whose sealed set was changed, page and API alike', async () => {
    const app = await withKeys([KEY_A]);
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    const record = (await app.storedSession(sid)) ?? {};
    const sealed = record.argus as Sealed;
    const [version, id, iv, body] = sealed.sealed.split('.');
    const otherIv = randomBytes(12).toString('base64url');
    expect(otherIv).not.toBe(iv);
    await app.overwriteSession(sid, {
      ...record,
      argus: { ...sealed, sealed: [version, id, otherIv, body].join('.') },
    });
    app.emulator.clearRequests();
    advance(250_000);
    // Inside the refresh window the guard opens the set: it does not, so no refresh.
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect(app.emulator.requests).toEqual([]);
    expect(app.errors).toEqual([]);
  });

  it("does not open a sealed set copied into another session's record: that session is logged out", async () => {
    const app = await withKeys([KEY_A]);
    const { browser: alice } = await app.login(undefined, 'alice');
    const { browser: bob } = await app.login(undefined, 'bob');
    const aliceSid = app.sessionId(alice) ?? '';
    const bobSid = app.sessionId(bob) ?? '';
    expect(aliceSid).not.toBe(bobSid);
    const aliceRecord = (await app.storedSession(aliceSid)) ?? {};
    const bobRecord = (await app.storedSession(bobSid)) ?? {};
    await app.overwriteSession(bobSid, { ...bobRecord, argus: aliceRecord.argus });
    app.emulator.clearRequests();

    const call = await bob.request(`${app.url}/app/argus`, api);
    expect(call.status).toBe(401);
    expect(call.body).not.toContain('alice');
    expect(app.emulator.requests).toEqual([]);
    expect((await bob.request(`${app.url}/app/me`, api)).status).toBe(401);
    // Alice's own session is untouched.
    expect((await alice.request(`${app.url}/app/argus`, api)).status).toBe(200);
    expect(app.errors.map((error) => (error as { status?: number }).status)).toEqual([401]);
  });
});
