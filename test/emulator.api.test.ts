import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  type EmulatorUser,
  startArgusEmulator,
} from '../lib/emulator/index.ts';
import { json } from './helpers/emulator-calls.ts';

const REDIRECT = 'http://localhost:3000/oauth/callback';
const CAROL: EmulatorUser = {
  userName: 'carol',
  password: 'carol-password',
  name: 'Carol Chen',
  id: 4242,
  email: 'carol@corp.example',
  customer: { id: 7, name: 'Corp AS', shortName: 'corp' },
  domain: { id: 3, name: 'corpdomain' },
  groups: ['soc', 'admins'],
};
const DAN: EmulatorUser = { userName: 'dan', password: 'dan-password', name: 'Dan Dahl' };

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ users: [CAROL, DAN] });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

/** Runs the whole login for `user` and returns the access token. */
async function accessToken(user = 'carol', scope?: string): Promise<string> {
  const login = await fetch(`${emulator.url}/spa/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: user, password: `${user}-password` }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  const params = new URLSearchParams({
    client_id: DEMO_CLIENT.clientID,
    redirect_uri: REDIRECT,
    response_type: 'code',
  });
  if (scope !== undefined) params.set('scope', scope);
  const authorize = await fetch(`${emulator.url}/spa/oauth/authorize?${params}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: DEMO_CLIENT.clientID,
      client_secret: DEMO_CLIENT.clientSecret,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

function api(path: string, token?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${emulator.url}${path}`, { redirect: 'manual', ...init, headers });
}

/** Userinfo as an app would call it; `null` leaves X-Forwarded-For out. */
function userinfo(token: string, forwardedFor: string | null = '127.0.0.1') {
  return api(
    '/authentication/v1/oauth/userinfo',
    token,
    forwardedFor === null ? {} : { headers: { 'x-forwarded-for': forwardedFor } },
  );
}

async function expect401(res: Response) {
  expect(res.status).toBe(401);
  const body = await res.json();
  expect(body).toMatchObject({
    responseCode: 401,
    data: null,
    messages: [{ message: 'Authentication required / session not valid', type: 'ACTION_ERROR' }],
  });
}

describe('current user', () => {
  it('answers the user in the Argus envelope', async () => {
    const res = await api('/currentuser/v1/user', await accessToken());
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      responseCode: 200,
      limit: 0,
      offset: 0,
      count: 0,
      size: 0,
      messages: [],
      data: {
        id: 4242,
        userName: 'carol',
        name: 'Carol Chen',
        type: 'user',
        customerID: 7,
        customer: {
          id: 7,
          name: 'Corp AS',
          shortName: 'corp',
          domain: { id: 3, name: 'corpdomain' },
        },
        domain: { id: 3, name: 'corpdomain' },
        email: 'carol@corp.example',
      },
    });
  });

  it('fills in an id, the demo customer and a null email for a user given without them', async () => {
    const body = await json(await api('/currentuser/v1/user', await accessToken('dan')));
    expect(body.data).toMatchObject({
      id: expect.any(Number),
      userName: 'dan',
      customerID: expect.any(Number),
      customer: { shortName: expect.any(String) },
      email: null,
    });
    expect(body.data?.id).not.toBe(4242);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an unknown token', 'carol/notatoken'],
    ['an empty token', ''],
  ])('answers %s with 401 in the envelope', async (_name, token) => {
    await expect401(await api('/currentuser/v1/user', token));
  });

  it('answers 401 once the access token expired on the emulator clock', async () => {
    // Freezing Date freezes the emulator clock too, so the boundary is exact.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const token = await accessToken();
      emulator.clock.advance(299_999);
      expect((await api('/currentuser/v1/user', token)).status).toBe(200);
      emulator.clock.advance(1);
      await expect401(await api('/currentuser/v1/user', token));
    } finally {
      vi.useRealTimers();
    }
  });

  it('moves with a faked Date', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const token = await accessToken();
      vi.setSystemTime(Date.now() + 300_000);
      await expect401(await api('/currentuser/v1/user', token));
    } finally {
      vi.useRealTimers();
    }
  });

  it('follows the configured token lifetime', async () => {
    emulator.configure({ tokenLifetime: 1_000 });
    const token = await accessToken();
    emulator.clock.advance(1_000);
    await expect401(await api('/currentuser/v1/user', token));
  });
});

describe('session', () => {
  it('answers the session while it is valid', async () => {
    const token = await accessToken();
    const before = emulator.clock.now();
    const res = await api('/authentication/v1/session', token);
    expect(res.status).toBe(200);
    const data = (await json(res)).data ?? {};
    expect(data).toEqual({
      userName: 'carol',
      sessionType: 'oauth',
      clientID: DEMO_CLIENT.clientID,
      expires: expect.any(Number),
    });
    expect(data.expires).toBeGreaterThan(before + 290_000);
    expect(data.expires).toBeLessThanOrEqual(before + 300_000);
  });

  it('answers 401 once the user logged out of Argus, though the token has not expired', async () => {
    const token = await accessToken();
    expect((await api('/authentication/v1/session', token)).status).toBe(200);
    emulator.logoutUser('carol');
    await expect401(await api('/authentication/v1/session', token));
  });

  it('answers 401 once the access token has expired', async () => {
    emulator.configure({ tokenLifetime: 1_000 });
    const token = await accessToken();
    emulator.clock.advance(1_000);
    await expect401(await api('/authentication/v1/session', token));
  });

  it('leaves the sessions of other users valid when one logs out of Argus', async () => {
    const dan = await accessToken('dan');
    await accessToken('carol');
    emulator.logoutUser('carol');
    expect((await api('/authentication/v1/session', dan)).status).toBe(200);
  });

  it('DELETE ends the session: the token no longer works and the grant is gone', async () => {
    const token = await accessToken();
    const res = await api('/authentication/v1/session', token, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect((await json(res)).responseCode).toBe(200);
    await expect401(await api('/authentication/v1/session', token));
    expect(emulator.activeGrants('carol')).toBe(0);
    expect(emulator.requestsTo('session-delete')).toHaveLength(1);
  });

  it('DELETE with an unknown token answers 401', async () => {
    await expect401(await api('/authentication/v1/session', 'x', { method: 'DELETE' }));
  });

  it('DELETE ends only that session', async () => {
    const first = await accessToken();
    const second = await accessToken();
    await api('/authentication/v1/session', first, { method: 'DELETE' });
    expect((await api('/authentication/v1/session', second)).status).toBe(200);
  });
});

describe('userinfo', () => {
  it('gives the profile, customer and email claims when no scope was asked for', async () => {
    const res = await userinfo(await accessToken());
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      sub: '4242',
      username: 'carol',
      name: 'Carol Chen',
      customer_id: 7,
      domain_id: 3,
      customer_shortname: 'corp',
      customer_name: 'Corp AS',
      email: 'carol@corp.example',
    });
  });

  it('gives only sub and username for scope openid', async () => {
    expect(await (await userinfo(await accessToken('carol', 'openid'))).json()).toEqual({
      sub: '4242',
      username: 'carol',
    });
  });

  it('gives the claims of each scope word', async () => {
    const body = await (await userinfo(await accessToken('carol', 'openid groups email'))).json();
    expect(body).toEqual({
      sub: '4242',
      username: 'carol',
      email: 'carol@corp.example',
      groups: ['soc', 'admins'],
    });
  });

  it('gives the profile claims for scope profile, without a picture the user lacks', async () => {
    const body = await (await userinfo(await accessToken('carol', 'openid profile'))).json();
    expect(body).toEqual({ sub: '4242', username: 'carol', name: 'Carol Chen' });
  });

  it('requires X-Forwarded-For', async () => {
    const res = await userinfo(await accessToken(), null);
    expect(res.status).toBe(400);
    expect((await json(res)).messages?.[0]?.message).toBe('X-Forwarded-For required');
  });

  it('refuses an X-Forwarded-For other than the browser IP at authorize time', async () => {
    const res = await userinfo(await accessToken(), '10.1.2.3');
    expect(res.status).toBe(401);
    expect((await json(res)).responseCode).toBe(401);
  });

  it('takes the first address of a forwarded list and maps IPv4-in-IPv6', async () => {
    const token = await accessToken();
    expect((await userinfo(token, '::ffff:127.0.0.1, 10.0.0.1')).status).toBe(200);
  });

  it('skips the IP check when it is turned off', async () => {
    emulator.configure({ checkClientIP: false });
    expect((await userinfo(await accessToken(), null)).status).toBe(200);
  });

  it('answers 401 without a valid token', async () => {
    await expect401(await userinfo('nope'));
  });
});

describe('unknown paths and methods', () => {
  it('answers an unknown API path with a 404 envelope', async () => {
    const res = await api('/assets/v1/host');
    expect(res.status).toBe(404);
    expect((await json(res)).responseCode).toBe(404);
  });

  it('answers a wrong method with a 405 envelope and Allow', async () => {
    const res = await api('/currentuser/v1/user', undefined, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect((await json(res)).responseCode).toBe(405);
  });

  it('treats /__proto__ as an unknown path', async () => {
    expect((await api('/__proto__')).status).toBe(404);
    expect((await api('/constructor')).status).toBe(404);
  });

  it('answers an unknown portal page with an HTML 404', async () => {
    const res = await api('/spa/nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
