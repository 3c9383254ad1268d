import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  DEMO_USERS,
  type FailurePlan,
  type RecordedRequest,
  startArgusEmulator,
} from '../lib/emulator/index.ts';

const REDIRECT = DEMO_CLIENT.redirectUris[0] ?? '';

let emulator: ArgusEmulator;

/** An answer's JSON body, typed loosely for assertions. */
interface Answer {
  error?: string;
  responseCode?: number;
  messages?: { message: string }[];
  data?: { [key: string]: unknown } | null;
  now?: number;
}

async function json(res: Response): Promise<Answer> {
  return (await res.json()) as Answer;
}

beforeAll(async () => {
  emulator = await startArgusEmulator({ controlAPI: true });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

function tokenRequest(target: ArgusEmulator, fields: Record<string, string>): Promise<Response> {
  return fetch(`${target.url}/authentication/v1/oauth/token`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({
      client_id: DEMO_CLIENT.clientID,
      client_secret: DEMO_CLIENT.clientSecret,
      ...fields,
    }),
  });
}

/** Logs alice in all the way and returns her tokens. */
async function login(target = emulator): Promise<{ access_token: string; refresh_token: string }> {
  const portal = await fetch(`${target.url}/spa/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: 'alice', password: 'alice-password' }),
  });
  const cookie = portal.headers.get('set-cookie')?.split(';')[0] ?? '';
  const params = new URLSearchParams({
    client_id: DEMO_CLIENT.clientID,
    redirect_uri: REDIRECT,
    response_type: 'code',
  });
  const authorize = await fetch(`${target.url}/spa/oauth/authorize?${params}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const res = await tokenRequest(target, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
  });
  return (await res.json()) as { access_token: string; refresh_token: string };
}

function currentUser(token: string, target = emulator): Promise<Response> {
  return fetch(`${target.url}/currentuser/v1/user`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

function control(path: string, body?: unknown, target = emulator): Promise<Response> {
  return fetch(`${target.url}/__emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('failure plans', () => {
  it('answers the next request to an endpoint with the planned status, then normally', async () => {
    const { access_token } = await login();
    emulator.failNext('currentuser', { status: 503 });
    const failed = await currentUser(access_token);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ responseCode: 503, data: null });
    expect((await currentUser(access_token)).status).toBe(200);
    expect(emulator.requestsTo('currentuser')).toHaveLength(2);
  });

  it('fails as many requests as times says', async () => {
    emulator.failNext('token', { status: 500, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' })).status,
      );
    }
    expect(statuses).toEqual([500, 500, 400]);
  });

  it('plays queued plans in order', async () => {
    emulator.failNext('token', { status: 502 });
    emulator.failNext('token', { status: 504 });
    const first = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    const second = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: 'x',
    });
    expect([first.status, second.status]).toEqual([502, 504]);
  });

  it('leaves other endpoints alone', async () => {
    const { access_token } = await login();
    emulator.failNext('session-delete', { status: 500 });
    const session = await fetch(`${emulator.url}/authentication/v1/session`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(session.status).toBe(200);
    expect((await currentUser(access_token)).status).toBe(200);
  });

  it('answers a planned body, HTML by its look unless a content type is given', async () => {
    emulator.failNext('token', { status: 502, body: '<html><body>Bad gateway</body></html>' });
    emulator.failNext('token', {
      body: 'grant=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    const html = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('Bad gateway');
    const form = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(await form.text()).toBe('grant=1');
  });

  it('delays and then answers normally when only a delay is planned', async () => {
    const { access_token } = await login();
    emulator.failNext('currentuser', { delay: 40 });
    const started = performance.now();
    const res = await currentUser(access_token);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(res.status).toBe(200);
  });

  it('delays and then answers the planned status', async () => {
    emulator.failNext('token', { delay: 20, status: 503 });
    const started = performance.now();
    const res = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(res.status).toBe(503);
  });

  it('resets the connection', async () => {
    emulator.failNext('token', { reset: true });
    await expect(
      tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' }),
    ).rejects.toThrow(TypeError);
    expect(emulator.requestsTo('token')).toHaveLength(1);
  });

  it('truncates a JSON answer: the headers arrive, the body breaks off', async () => {
    emulator.failNext('token', { truncate: true });
    const res = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    await expect(res.text()).rejects.toThrow();
  });

  it('streams a huge body of exactly the planned size', async () => {
    emulator.failNext('currentuser', { hugeBody: 3_000_000 });
    const res = await currentUser('whatever');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBe(3_000_000);
    expect(JSON.parse(text)).toHaveProperty('filler');
  });

  it('lets a client stop reading a huge body', async () => {
    emulator.failNext('currentuser', { hugeBody: 50_000_000 });
    const res = await currentUser('whatever');
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    expect((await currentUser('x')).status).toBe(401);
  });

  it('redirects elsewhere', async () => {
    emulator.failNext('token', { redirect: 'https://elsewhere.example/token' });
    const res = await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://elsewhere.example/token');
  });

  it('fails portal endpoints as well', async () => {
    emulator.failNext('authorize', { status: 500, body: '<p>oops</p>' });
    const res = await fetch(`${emulator.url}/spa/oauth/authorize`, { redirect: 'manual' });
    expect(res.status).toBe(500);
  });

  it('hangs until the emulator closes, and close() does not wait for it', async () => {
    const own = await startArgusEmulator();
    own.failNext('token', { hang: true });
    const pending = tokenRequest(own, { grant_type: 'refresh_token', refresh_token: 'x' });
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await vi.waitFor(() => expect(own.requestsTo('token')).toHaveLength(1));
    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await outcome).toBe('failed');
  });

  it('hangs until the client gives up', async () => {
    emulator.failNext('token', { hang: true });
    const controller = new AbortController();
    const pending = fetch(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token' }),
      signal: controller.signal,
    });
    await vi.waitFor(() => expect(emulator.requestsTo('token')).toHaveLength(1));
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
  });

  it('ends a pending delay at close', async () => {
    const own = await startArgusEmulator();
    own.failNext('token', { delay: 60_000 });
    const outcome = tokenRequest(own, { grant_type: 'refresh_token', refresh_token: 'x' }).then(
      () => 'answered',
      () => 'failed',
    );
    await vi.waitFor(() => expect(own.requestsTo('token')).toHaveLength(1));
    await own.close();
    expect(await outcome).toBe('failed');
  });

  it.each([
    ['an unknown endpoint', 'tokens', {}, /endpoint must be one of/],
    ['times 0', 'token', { times: 0 }, /times must be a positive integer/],
    ['a status of 99', 'token', { status: 99 }, /status must be/],
    ['a negative delay', 'token', { delay: -1 }, /delay must be/],
    ['two modes', 'token', { hang: true, reset: true }, /choose one of hang, reset/],
    ['a status with hang', 'token', { hang: true, status: 500 }, /hang takes no status/],
    ['an unknown field', 'token', { stauts: 500 }, /unknown plan field stauts/],
    ['a redirect with a line break', 'token', { redirect: 'x\r\ny' }, /redirect must be/],
  ])('refuses a plan with %s', (_name, endpoint, plan, message) => {
    expect(() => emulator.failNext(endpoint as 'token', plan as FailurePlan)).toThrow(TypeError);
    expect(() => emulator.failNext(endpoint as 'token', plan as FailurePlan)).toThrow(message);
  });
});

describe('request recording', () => {
  it('records each request as it arrived, on the emulator clock', async () => {
    emulator.clock.set(1_700_000_000_000);
    await fetch(`${emulator.url}/authentication/v1/oauth/token?x=1&y`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test': 'yes' },
      body: 'grant_type=refresh_token&refresh_token=a+b%21',
    });
    const [request] = emulator.requestsTo('token');
    expect(request).toMatchObject({
      endpoint: 'token',
      method: 'POST',
      path: '/authentication/v1/oauth/token',
      query: 'x=1&y',
      body: 'grant_type=refresh_token&refresh_token=a+b%21',
      form: { grant_type: ['refresh_token'], refresh_token: ['a b!'] },
    });
    expect(request?.headers['x-test']).toBe('yes');
    expect(request?.at).toBeGreaterThanOrEqual(1_700_000_000_000);
    expect(request?.at).toBeLessThan(1_700_000_010_000);
  });

  it('names every endpoint and records unknown paths as other', async () => {
    const paths: [string, string][] = [
      ['GET', '/spa/oauth/authorize'],
      ['GET', '/spa/login'],
      ['GET', '/spa/logout'],
      ['POST', '/authentication/v1/oauth/token'],
      ['GET', '/currentuser/v1/user'],
      ['GET', '/authentication/v1/session'],
      ['DELETE', '/authentication/v1/session'],
      ['GET', '/authentication/v1/oauth/userinfo'],
      ['GET', '/nowhere'],
    ];
    for (const [method, path] of paths) {
      await fetch(`${emulator.url}${path}`, { method, redirect: 'manual' });
    }
    expect(emulator.requests.map((request) => request.endpoint)).toEqual([
      'authorize',
      'login',
      'portal-logout',
      'token',
      'currentuser',
      'session',
      'session-delete',
      'userinfo',
      'other',
    ]);
  });

  it('keeps no form for a body that is not a form', async () => {
    await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(emulator.requests[0]?.form).toBeUndefined();
    expect(emulator.requests[0]?.body).toBe('{"a":1}');
  });

  it('hands out a copy, and clearRequests() forgets', async () => {
    await fetch(`${emulator.url}/nowhere`);
    const copy = emulator.requests as RecordedRequest[];
    copy.length = 0;
    expect(emulator.requests).toHaveLength(1);
    emulator.clearRequests();
    expect(emulator.requests).toHaveLength(0);
  });
});

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
      body: '{advance',
    });
    expect(res.status).toBe(400);
  });

  it('answers the wrong method with 405 and unknown controls with 404', async () => {
    expect((await control('reset')).status).toBe(405);
    expect((await control('nothing', {})).status).toBe(404);
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
