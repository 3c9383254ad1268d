import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  DEMO_USERS,
  type RecordedRequest,
  startArgusEmulator,
} from '../lib/emulator/index.ts';
import { demoClientCalls, json } from './helpers/emulator-calls.ts';

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ controlAPI: true });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

const { tokenRequest, login, currentUser } = demoClientCalls(() => emulator);

function control(path: string, body?: unknown, target = emulator): Promise<Response> {
  return fetch(`${target.url}/__emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('control API', () => {
  it('is off unless asked for', async () => {
    const own = await startArgusEmulator();
    try {
      const res = await control('reset', {}, own);
      expect(res.status).toBe(404);
    } finally {
      await own.close();
    }
  });

  it('moves the clock', async () => {
    const { access_token } = await login();
    const res = await control('clock', { advance: 300_000 });
    expect(res.status).toBe(200);
    expect((await json(res)).now).toBeGreaterThan(Date.now() + 290_000);
    expect((await currentUser(access_token)).status).toBe(401);
    await control('clock', { set: Date.now() });
    expect((await currentUser(access_token)).status).toBe(200);
  });

  it('logs a user out of Argus', async () => {
    const { access_token } = await login();
    expect((await control('users/alice/logout', {})).status).toBe(200);
    expect((await currentUser(access_token)).status).toBe(401);
    expect((await control('users/nobody/logout', {})).status).toBe(404);
  });

  it('plans failures', async () => {
    const res = await control('fail', { endpoint: 'token', status: 503, times: 1 });
    expect(res.status).toBe(200);
    const failed = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: 'x',
    });
    expect(failed.status).toBe(503);
  });

  it('lists the recorded requests, without the control requests', async () => {
    await fetch(`${emulator.url}/nowhere?q=1`);
    await control('clock', { advance: 1 });
    const res = await control('requests');
    const list = (await res.json()) as RecordedRequest[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ endpoint: 'other', path: '/nowhere', query: 'q=1' });
    expect(emulator.requests).toHaveLength(1);
  });

  it('configures and resets', async () => {
    expect((await control('configure', { rejection: 403 })).status).toBe(200);
    expect(
      (await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' })).status,
    ).toBe(403);
    expect((await control('reset', {})).status).toBe(200);
    expect(emulator.requests).toHaveLength(0);
    expect(
      (await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' })).status,
    ).toBe(400);
  });

  it('counts live grants', async () => {
    await login();
    expect(await (await control('grants')).json()).toEqual({ active: 1 });
    expect(await (await control('grants?user=bob')).json()).toEqual({ active: 0 });
  });

  it.each([
    ['clock', { advance: 'soon' }, /finite number/],
    ['clock', { advance: 1, set: 2 }, /either advance or set/],
    ['fail', { endpoint: 'nope' }, /endpoint must be one of/],
    [
      'fail',
      { endpoint: 'token', delay: 10, status: 500, contentType: 'text/plain\u0001' },
      /contentType must be a valid HTTP header value/,
    ],
    ['configure', { tokenLifetime: 0 }, /tokenLifetime must be a positive number/],
    ['configure', { port: 1 }, /port cannot be configured/],
  ])('refuses bad input to %s with 400 and the reason', async (path, body, message) => {
    const res = await control(path, body);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatch(message);
  });

  it('refuses a body that is not JSON', async () => {
    const res = await fetch(`${emulator.url}/__emulator/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{advance',
    });
    expect(res.status).toBe(400);
  });

  it('answers the wrong method with 405 and unknown controls with 404', async () => {
    expect((await control('reset')).status).toBe(405);
    expect((await control('nothing', {})).status).toBe(404);
  });
});

interface RawCall {
  method?: string;
  host?: string;
  contentType?: string;
  authorization?: string;
  body?: string;
}

/** A control request with exactly the headers given, as a browser or script could send it. */
function rawControl(
  path: string,
  call: RawCall = {},
  target = emulator,
): Promise<{ status: number; body: { error?: string; [key: string]: unknown } }> {
  const { port } = new URL(target.url);
  const headers: Record<string, string> = {};
  if (call.host !== undefined) headers.host = call.host;
  if (call.contentType !== undefined) headers['content-type'] = call.contentType;
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/__emulator/${path}`,
        method: call.method ?? (call.body === undefined ? 'GET' : 'POST'),
        headers,
        agent: false,
        setHost: call.host === undefined,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.once('error', reject);
    req.end(call.body);
  });
}

const ADVANCE = JSON.stringify({ advance: 3_600_000 });

/** Whether the clock is still at real time, i.e. no refused request moved it. */
function clockUnmoved(target = emulator): boolean {
  return Math.abs(target.clock.now() - Date.now()) < 60_000;
}

describe('control API guard', () => {
  it.each([
    'evil.example',
    'evil.example:80',
    '127.0.0.1.evil.example',
    'localhost.evil.example',
    '',
  ])('refuses Host %j with 403 JSON, and changes nothing', async (host) => {
    const json = 'application/json';
    const moved = await rawControl('clock', { host, contentType: json, body: ADVANCE });
    expect(moved.status).toBe(403);
    expect(moved.body.error).toMatch(/loopback host or one of controlHosts/);
    expect(clockUnmoved()).toBe(true);
    await login();
    const listed = await rawControl('requests', { host });
    expect(listed.status).toBe(403);
    expect(JSON.stringify(listed.body)).not.toContain(DEMO_CLIENT.clientSecret);
  });

  it('answers loopback hosts at any port, names under .localhost, and no others', async () => {
    const allowed = ['127.0.0.1', 'localhost:9', 'LOCALHOST', '[::1]:80', 'argus.localhost:1234'];
    const refused = ['localhost.', '.localhost', '127.0.0.2', '[::2]'];
    const call = (host: string) =>
      rawControl('clock', { host, contentType: 'application/json', body: '{"advance":1}' });
    for (const host of allowed) expect([host, (await call(host)).status]).toEqual([host, 200]);
    for (const host of refused) expect([host, (await call(host)).status]).toEqual([host, 403]);
  });

  it('answers the hosts given in controlHosts, at any port', async () => {
    const own = await startArgusEmulator({ controlAPI: true, controlHosts: ['argus.test'] });
    try {
      expect((await rawControl('grants', { host: 'argus.test:8080' }, own)).status).toBe(200);
      expect((await rawControl('grants', { host: 'other.test' }, own)).status).toBe(403);
    } finally {
      await own.close();
    }
  });

  it.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['no content type', undefined],
  ])('refuses a POST sent as %s with 415, and changes nothing', async (_name, contentType) => {
    const res = await rawControl('clock', { contentType, body: ADVANCE });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
    expect(clockUnmoved()).toBe(true);
    emulator.failNext('token', { status: 503 });
    expect((await rawControl('reset', { contentType, body: '' })).status).toBe(415);
    const refused = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: 'x',
    });
    expect(refused.status).toBe(503);
  });

  it('asks every control request for the token when one is set', async () => {
    const own = await startArgusEmulator({ controlAPI: true, controlToken: 's3cret-token' });
    const json = 'application/json';
    try {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        'Basic czNjcmV0LXRva2Vu',
        's3cret-token',
      ]) {
        const moved = await rawControl(
          'clock',
          { authorization, contentType: json, body: ADVANCE },
          own,
        );
        expect(moved.status).toBe(403);
        expect(moved.body.error).toMatch(/Authorization: Bearer <controlToken>/);
        expect((await rawControl('requests', { authorization }, own)).status).toBe(403);
      }
      expect(clockUnmoved(own)).toBe(true);
      const authorization = 'Bearer s3cret-token';
      expect((await rawControl('requests', { authorization }, own)).status).toBe(200);
      const moved = await rawControl(
        'clock',
        { authorization, contentType: json, body: ADVANCE },
        own,
      );
      expect(moved.status).toBe(200);
      expect(clockUnmoved(own)).toBe(false);
    } finally {
      await own.close();
    }
  });

  it.each([
    [
      { controlAPI: true, controlHosts: 'argus.test' },
      'controlHosts must be an array of host names',
    ],
    [{ controlAPI: true, controlHosts: [''] }, 'controlHosts[0] must be a non-empty string'],
    [
      { controlAPI: true, controlHosts: ['http://argus.test'] },
      "controlHosts[0] must be a host name or address without a port, got 'http://argus.test'",
    ],
    [
      { controlAPI: true, controlToken: 'two words' },
      'controlToken must be a non-empty string of visible ASCII characters',
    ],
    [{ controlToken: 'x' }, 'controlHosts and controlToken need controlAPI: true'],
  ])('refuses bad control options: %j', async (options, message) => {
    await expect(startArgusEmulator(options as never)).rejects.toThrow(
      `Argus emulator: ${message}`,
    );
  });
});

describe('reset()', () => {
  it('goes back to the start state', async () => {
    const { access_token, refresh_token } = await login();
    emulator.configure({ rejection: 401, tokenLifetime: 5_000 });
    emulator.clock.advance(1_000_000);
    emulator.failNext('token', { status: 500 });
    emulator.reset();
    expect(emulator.activeGrants()).toBe(0);
    expect(emulator.requests).toHaveLength(0);
    expect(Math.abs(emulator.clock.now() - Date.now())).toBeLessThan(1_000);
    expect((await currentUser(access_token)).status).toBe(401);
    const res = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token });
    expect(res.status).toBe(400);
    const fresh = await login();
    expect(fresh).toMatchObject({ expires_in: 300 });
  });
});

describe('state and options', () => {
  it('counts live grants per user and drops expired ones without refresh tokens', async () => {
    emulator.configure({ issueRefreshTokens: false });
    await login();
    expect(emulator.activeGrants('alice')).toBe(1);
    expect(emulator.activeGrants('bob')).toBe(0);
    emulator.clock.advance(300_001);
    expect(emulator.activeGrants()).toBe(0);
  });

  it('serves portal and API on one origin on loopback', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.portalURL).toBe(emulator.url);
    expect(emulator.apiURL).toBe(emulator.url);
    expect(emulator.users.map((user) => user.userName)).toEqual(['alice', 'bob']);
    expect(emulator.clients).toEqual([DEMO_CLIENT]);
  });

  it('exports demo users with their passwords and the demo client', () => {
    expect(DEMO_USERS.map((user) => [user.userName, user.password, user.name])).toEqual([
      ['alice', 'alice-password', 'Alice Anderson'],
      ['bob', 'bob-password', 'Bob Berg'],
    ]);
    expect(DEMO_CLIENT.clientID).toBe('5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10');
  });

  it.each([
    ['tokenLifetime must be a positive number of milliseconds', { tokenLifetime: -1 }],
    ['refreshTimeout must be a positive number of milliseconds', { refreshTimeout: 'long' }],
    ["rejection must be 'invalid_grant', 401 or 403", { rejection: 500 }],
    ["deniedUser must be 'page' or 'redirect'", { deniedUser: 'hide' }],
    ['port must be an integer from 0 to 65535', { port: 70_000 }],
    ['unknown option tokenLifeTime', { tokenLifeTime: 1 }],
    ['users must be a non-empty array', { users: [] }],
    ["users[1].userName 'alice' appears twice", { users: [DEMO_USERS[0], DEMO_USERS[0]] }],
    [
      "clients[0].redirectUris[0] must be an absolute URL, got '/callback'",
      { clients: [{ ...DEMO_CLIENT, redirectUris: ['/callback'] }] },
    ],
    [
      'clients[0].redirectUris[0] must be ASCII without spaces (percent-encode the rest)',
      { clients: [{ ...DEMO_CLIENT, redirectUris: ['http://localhost/a b'] }] },
    ],
    [
      'clients[0].redirectUris[0] must not have a #fragment',
      { clients: [{ ...DEMO_CLIENT, redirectUris: ['http://localhost/cb#x'] }] },
    ],
    [
      "clients[0].permittedUsers names 'mallory', who is not one of the users",
      { clients: [{ ...DEMO_CLIENT, permittedUsers: ['mallory'] }] },
    ],
  ])('refuses bad options with a TypeError: %s', async (message, options) => {
    const start = startArgusEmulator(options as never);
    await expect(start).rejects.toThrow(TypeError);
    await expect(start).rejects.toThrow(`Argus emulator: ${message}`);
  });

  it('refuses bad configure() input and keeps the old settings', async () => {
    expect(() => emulator.configure({ rejection: 500 as never })).toThrow(TypeError);
    expect(() => emulator.configure({ port: 1 } as never)).toThrow('port cannot be configured');
    expect(() => emulator.configure({ tokenLifetime: 1_000, rejection: 'x' as never })).toThrow();
    expect(await login()).toMatchObject({ expires_in: 300 });
  });

  it('refuses clock moves that are not finite numbers and unknown users to log out', () => {
    expect(() => emulator.clock.advance(Number.NaN)).toThrow(TypeError);
    expect(() => emulator.clock.set(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => emulator.logoutUser('mallory')).toThrow("there is no user 'mallory'");
  });

  it('does not change the caller options object', async () => {
    const options = { tokenLifetime: 10_000, clients: [{ ...DEMO_CLIENT }] };
    const copy = structuredClone(options);
    const own = await startArgusEmulator(options);
    own.configure({ tokenLifetime: 20_000 });
    await own.close();
    expect(options).toEqual(copy);
  });

  it('reports a port in use', async () => {
    const port = Number(new URL(emulator.url).port);
    await expect(startArgusEmulator({ port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('survives a request body that never finishes within the limit', async () => {
    const res = await fetch(`${emulator.url}/spa/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=${'a'.repeat(200_000)}`,
    }).catch(() => undefined);
    if (res !== undefined) expect(res.status).toBe(413);
    expect((await fetch(`${emulator.url}/spa/`)).status).toBe(200);
  });
});
