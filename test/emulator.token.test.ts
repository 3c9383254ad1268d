import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  type EmulatorClient,
  startArgusEmulator,
} from '../lib/emulator/index.ts';
import { json } from './helpers/emulator-calls.ts';

const REDIRECT = 'http://localhost:3000/oauth/callback';
const ODD_SECRET = 'a:b%c+d e é/ø=';
const ODD_CLIENT: EmulatorClient = {
  clientID: 'odd client:1',
  clientSecret: ODD_SECRET,
  redirectUris: [REDIRECT],
};
const VERIFIER = 'verifier-0123456789-0123456789-0123456789-abcdef';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ clients: [DEMO_CLIENT, ODD_CLIENT] });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

interface CodeOptions {
  user?: string;
  clientID?: string;
  challenge?: string;
  scope?: string;
}

/** Logs `user` in at the portal and runs an authorize request; returns the code. */
async function getCode({
  user = 'alice',
  clientID = DEMO_CLIENT.clientID,
  challenge,
  scope,
}: CodeOptions = {}) {
  const login = await fetch(`${emulator.url}/spa/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: user, password: `${user}-password` }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  const params = new URLSearchParams({
    client_id: clientID,
    redirect_uri: REDIRECT,
    response_type: 'code',
  });
  if (challenge !== undefined) {
    params.set('code_challenge', challenge);
    params.set('code_challenge_method', 'S256');
  }
  if (scope !== undefined) params.set('scope', scope);
  const res = await fetch(`${emulator.url}/spa/oauth/authorize?${params}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('code');
  if (code === null) throw new Error(`no code: ${res.status} ${res.headers.get('location')}`);
  return code;
}

function basic(id: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replaceAll('%20', '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** A token request with the demo client's credentials in the body unless told otherwise. */
function tokenRequest(
  fields: Record<string, string>,
  {
    headers = {},
    credentials = true,
  }: { headers?: Record<string, string>; credentials?: boolean } = {},
): Promise<Response> {
  const body = new URLSearchParams(
    credentials
      ? { client_id: DEMO_CLIENT.clientID, client_secret: DEMO_CLIENT.clientSecret, ...fields }
      : fields,
  );
  return fetch(`${emulator.url}/authentication/v1/oauth/token`, {
    method: 'POST',
    redirect: 'manual',
    headers,
    body,
  });
}

function exchange(code: string, extra: Record<string, string> = {}) {
  return tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...extra });
}

function refresh(refreshToken: string) {
  return tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
}

function currentUser(accessToken: string): Promise<Response> {
  return fetch(`${emulator.url}/currentuser/v1/user`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string | null;
  [key: string]: unknown;
}

async function tokens(res: Response): Promise<TokenAnswer> {
  expect(res.status).toBe(200);
  return (await res.json()) as TokenAnswer;
}

async function expectInvalidGrant(res: Response, description: RegExp) {
  expect(res.status).toBe(400);
  const body = await res.json();
  expect(body).toEqual({
    error: 'invalid_grant',
    error_description: expect.stringMatching(description),
  });
}

describe('code exchange', () => {
  it('answers flat OAuth JSON with an Argus-shaped access token and no-store headers', async () => {
    const res = await exchange(await getCode());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    const body = await res.json();
    expect(body).toEqual({
      access_token: expect.stringMatching(/^alice\/[A-Za-z0-9]{64}$/),
      id_token: null,
      refresh_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
    });
  });

  it('echoes the scope of the authorization', async () => {
    const body = await tokens(await exchange(await getCode({ scope: 'openid profile' })));
    expect(body.scope).toBe('openid profile');
  });

  it('gives refresh_token null when refresh tokens are off, as in the Argus example', async () => {
    emulator.configure({ issueRefreshTokens: false, tokenLifetime: 60_000 });
    const body = await tokens(await exchange(await getCode()));
    expect(body.refresh_token).toBeNull();
    expect(body.expires_in).toBe(60);
  });

  it('refuses a code used twice and revokes the tokens the first use gave', async () => {
    const code = await getCode();
    const first = await tokens(await exchange(code));
    expect((await currentUser(first.access_token)).status).toBe(200);
    await expectInvalidGrant(await exchange(code), /already used/);
    expect((await currentUser(first.access_token)).status).toBe(401);
    await expectInvalidGrant(await refresh(first.refresh_token ?? ''), /ended/);
    expect(emulator.activeGrants()).toBe(0);
  });

  it('refuses a code after its lifetime on the emulator clock', async () => {
    const code = await getCode();
    emulator.clock.advance(60_001);
    await expectInvalidGrant(await exchange(code), /expired/);
  });

  it('forgets long-expired codes once a thousand more have been issued, and still revokes on a recent replay', async () => {
    const old = await getCode();
    // Past the ten code lifetimes for which an expired or used code is remembered.
    emulator.clock.advance(11 * 60_000);
    const used = await getCode();
    const first = await tokens(await exchange(used));
    const login = await fetch(`${emulator.url}/spa/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'alice', password: 'alice-password' }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const authorize = `${emulator.url}/spa/oauth/authorize?${new URLSearchParams({
      client_id: DEMO_CLIENT.clientID,
      redirect_uri: REDIRECT,
      response_type: 'code',
    })}`;
    for (let i = 0; i < 1024; i++) {
      const res = await fetch(authorize, { redirect: 'manual', headers: { cookie } });
      expect(res.status).toBe(302);
    }
    await expectInvalidGrant(await exchange(old), /unknown/);
    await expectInvalidGrant(await exchange(used), /already used/);
    expect((await currentUser(first.access_token)).status).toBe(401);
  });

  it('accepts a code just before its lifetime ends', async () => {
    const code = await getCode();
    emulator.clock.advance(59_000);
    await tokens(await exchange(code));
  });

  it('refuses a code of another client', async () => {
    const code = await getCode({ clientID: ODD_CLIENT.clientID });
    await expectInvalidGrant(await exchange(code), /another client/);
  });

  it('refuses an unknown code', async () => {
    await expectInvalidGrant(await exchange('00000000-0000-4000-8000-000000000000'), /unknown/);
  });

  it('refuses a redirect_uri that differs from the authorize request', async () => {
    const code = await getCode();
    const res = await exchange(code, { redirect_uri: 'http://127.0.0.1:3000/oauth/callback' });
    await expectInvalidGrant(res, /redirect_uri/);
  });

  it('accepts the right PKCE verifier', async () => {
    await tokens(
      await exchange(await getCode({ challenge: CHALLENGE }), { code_verifier: VERIFIER }),
    );
  });

  it('refuses a wrong PKCE verifier', async () => {
    const code = await getCode({ challenge: CHALLENGE });
    await expectInvalidGrant(
      await exchange(code, { code_verifier: `${VERIFIER}x` }),
      /does not match/,
    );
  });

  it('refuses a missing PKCE verifier when a challenge was sent', async () => {
    await expectInvalidGrant(await exchange(await getCode({ challenge: CHALLENGE })), /required/);
  });

  it('treats an empty PKCE verifier as a missing one', async () => {
    const code = await getCode({ challenge: CHALLENGE });
    await expectInvalidGrant(await exchange(code, { code_verifier: '' }), /required/);
  });

  it('refuses a PKCE verifier when no challenge was sent', async () => {
    const res = await exchange(await getCode(), { code_verifier: VERIFIER });
    await expectInvalidGrant(res, /no challenge/);
  });

  it('refuses a code of a user who logged out of Argus before it was exchanged', async () => {
    const code = await getCode();
    emulator.logoutUser('alice');
    await expectInvalidGrant(await exchange(code), /logged out of Argus before/);
  });

  it('answers a missing code with invalid_request', async () => {
    const res = await tokenRequest({ grant_type: 'authorization_code', redirect_uri: REDIRECT });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_request');
  });
});

describe('client authentication', () => {
  it('accepts HTTP Basic with a form-encoded secret full of : % + space and é', async () => {
    const code = await getCode({ clientID: ODD_CLIENT.clientID });
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { credentials: false, headers: { authorization: basic(ODD_CLIENT.clientID, ODD_SECRET) } },
    );
    expect((await tokens(res)).access_token).toMatch(/^alice\//);
  });

  it('accepts the same odd secret in the body', async () => {
    const code = await getCode({ clientID: ODD_CLIENT.clientID });
    const res = await tokenRequest(
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: ODD_CLIENT.clientID,
        client_secret: ODD_SECRET,
      },
      { credentials: false },
    );
    await tokens(res);
  });

  it('refuses Basic credentials that were not form-encoded first', async () => {
    const code = await getCode({ clientID: ODD_CLIENT.clientID });
    const raw = `Basic ${Buffer.from(`${ODD_CLIENT.clientID}:${ODD_SECRET}`).toString('base64')}`;
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { credentials: false, headers: { authorization: raw } },
    );
    expect(res.status).toBe(401);
  });

  it('refuses both methods in one request', async () => {
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code: await getCode(), redirect_uri: REDIRECT },
      { headers: { authorization: basic(DEMO_CLIENT.clientID, DEMO_CLIENT.clientSecret) } },
    );
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_request');
  });

  it('refuses a wrong secret in the body with 401 invalid_client', async () => {
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code: await getCode(),
      redirect_uri: REDIRECT,
      client_secret: 'wrong',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect((await json(res)).error).toBe('invalid_client');
  });

  it('refuses a wrong Basic secret with 401 and a Basic challenge', async () => {
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code: await getCode(), redirect_uri: REDIRECT },
      { credentials: false, headers: { authorization: basic(DEMO_CLIENT.clientID, 'wrong') } },
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="argus"');
    expect((await json(res)).error).toBe('invalid_client');
  });

  it.each([
    ['no credentials', { credentials: false }],
    ['malformed base64', { credentials: false, headers: { authorization: 'Basic %%%' } }],
    [
      'base64 without a colon',
      { credentials: false, headers: { authorization: `Basic ${btoa('nocolon')}` } },
    ],
    ['a Bearer header', { credentials: false, headers: { authorization: 'Bearer abc' } }],
  ])('refuses %s with 401 invalid_client', async (_name, init) => {
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code: 'c', redirect_uri: REDIRECT },
      init,
    );
    expect(res.status).toBe(401);
    expect((await json(res)).error).toBe('invalid_client');
  });

  it('refuses an unknown client', async () => {
    const res = await tokenRequest(
      { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'nobody', client_secret: 's' },
      { credentials: false },
    );
    expect(res.status).toBe(401);
  });
});

describe('malformed token requests', () => {
  it('refuses a parameter sent twice', async () => {
    const body = `grant_type=authorization_code&code=a&code=b&redirect_uri=${encodeURIComponent(REDIRECT)}&client_id=${DEMO_CLIENT.clientID}&client_secret=${DEMO_CLIENT.clientSecret}`;
    const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: 'invalid_request',
      error_description: 'code appears more than once',
    });
  });

  it('refuses a JSON body', async () => {
    const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code' }),
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_request');
  });

  it.each(['%ZZ', '%E0%A4%A', 'code=%FF'])(
    'refuses the malformed form %j with invalid_request',
    async (body) => {
      const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(400);
      expect((await json(res)).error).toBe('invalid_request');
    },
  );

  it('refuses a body over 64 KB with 413', async () => {
    const res = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(70_000),
    });
    expect(res.status).toBe(413);
  });

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    const res = await tokenRequest({ grant_type: 'client_credentials' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('unsupported_grant_type');
  });

  it('answers GET with 405', async () => {
    const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('treats __proto__ and constructor as ordinary parameter names', async () => {
    const res = await fetch(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=x&__proto__=y&constructor=z&client_id=${DEMO_CLIENT.clientID}&client_secret=${DEMO_CLIENT.clientSecret}`,
    });
    await expectInvalidGrant(res, /unknown/);
    const form = emulator.requestsTo('token')[0]?.form ?? {};
    expect(Object.getOwnPropertyDescriptor(form, '__proto__')?.value).toEqual(['y']);
    expect(Object.getOwnPropertyDescriptor(form, 'constructor')?.value).toEqual(['z']);
  });
});

describe('refresh', () => {
  it('keeps the refresh token without rotation and leaves it out of the answer', async () => {
    const first = await tokens(await exchange(await getCode()));
    const second = await tokens(await refresh(first.refresh_token ?? ''));
    expect(second).not.toHaveProperty('refresh_token');
    expect(second.access_token).not.toBe(first.access_token);
    const third = await tokens(await refresh(first.refresh_token ?? ''));
    expect((await currentUser(third.access_token)).status).toBe(200);
  });

  it('keeps the previous access token working until its own expiry', async () => {
    const first = await tokens(await exchange(await getCode()));
    emulator.clock.advance(200_000);
    const second = await tokens(await refresh(first.refresh_token ?? ''));
    expect((await currentUser(first.access_token)).status).toBe(200);
    emulator.clock.advance(100_000);
    expect((await currentUser(first.access_token)).status).toBe(401);
    expect((await currentUser(second.access_token)).status).toBe(200);
  });

  it('rotates: a new refresh token each time, and the old one is spent', async () => {
    emulator.configure({ rotateRefreshTokens: true, reuseDetection: false });
    const first = await tokens(await exchange(await getCode()));
    const second = await tokens(await refresh(first.refresh_token ?? ''));
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await expectInvalidGrant(await refresh(first.refresh_token ?? ''), /already used/);
    // Without reuse detection the grant lives on.
    await tokens(await refresh(second.refresh_token ?? ''));
  });

  it('ends the whole grant when a spent refresh token comes back', async () => {
    emulator.configure({ rotateRefreshTokens: true });
    const first = await tokens(await exchange(await getCode()));
    const second = await tokens(await refresh(first.refresh_token ?? ''));
    await expectInvalidGrant(await refresh(first.refresh_token ?? ''), /revoked/);
    expect((await currentUser(second.access_token)).status).toBe(401);
    await expectInvalidGrant(await refresh(second.refresh_token ?? ''), /ended/);
    expect(emulator.activeGrants('alice')).toBe(0);
  });

  it('rejects a refresh after the refresh timeout and accepts one within it', async () => {
    emulator.configure({ refreshTimeout: 600_000 });
    const grant = await tokens(await exchange(await getCode()));
    emulator.clock.advance(599_000);
    await tokens(await refresh(grant.refresh_token ?? ''));
    // The timeout counts from the last token issue, which was just now.
    emulator.clock.advance(600_001);
    await expectInvalidGrant(await refresh(grant.refresh_token ?? ''), /refresh timeout/);
  });

  it('refuses the refresh token of another client', async () => {
    const grant = await tokens(await exchange(await getCode()));
    const res = await tokenRequest(
      { grant_type: 'refresh_token', refresh_token: grant.refresh_token ?? '' },
      { credentials: false, headers: { authorization: basic(ODD_CLIENT.clientID, ODD_SECRET) } },
    );
    await expectInvalidGrant(res, /another client/);
  });

  it('rejects a refresh and the API after logoutUser()', async () => {
    const grant = await tokens(await exchange(await getCode()));
    emulator.logoutUser('alice');
    await expectInvalidGrant(await refresh(grant.refresh_token ?? ''), /logged out/);
    expect((await currentUser(grant.access_token)).status).toBe(401);
  });

  it('rejects a refresh and the API after the user logs out at the portal', async () => {
    const login = await fetch(`${emulator.url}/spa/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'alice', password: 'alice-password' }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const grant = await tokens(await exchange(await getCode()));
    await fetch(`${emulator.url}/spa/logout`, { method: 'POST', headers: { cookie } });
    await expectInvalidGrant(await refresh(grant.refresh_token ?? ''), /logged out/);
    expect((await currentUser(grant.access_token)).status).toBe(401);
  });

  it('leaves the grants of other users alone at logout', async () => {
    const bob = await tokens(await exchange(await getCode({ user: 'bob' })));
    await tokens(await exchange(await getCode({ user: 'alice' })));
    emulator.logoutUser('alice');
    await tokens(await refresh(bob.refresh_token ?? ''));
    expect(emulator.activeGrants()).toBe(1);
  });

  it('answers a missing refresh_token with invalid_request', async () => {
    const res = await tokenRequest({ grant_type: 'refresh_token' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_request');
  });
});

describe('rejection shapes', () => {
  it('rejects with 401 and the Argus envelope when so configured', async () => {
    emulator.configure({ rejection: 401 });
    const res = await refresh('unknown');
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toEqual({
      responseCode: 401,
      limit: 0,
      offset: 0,
      count: 0,
      size: 0,
      data: null,
      messages: [
        {
          message: 'The refresh token is unknown',
          messageTemplate: expect.any(String),
          type: 'ACTION_ERROR',
          field: null,
          timestamp: expect.any(Number),
        },
      ],
    });
  });

  it('rejects with 403 and the Argus envelope when so configured, for bad codes too', async () => {
    emulator.configure({ rejection: 403 });
    const res = await exchange('not-a-code');
    expect(res.status).toBe(403);
    expect((await json(res)).responseCode).toBe(403);
  });

  it('rejects with 400 invalid_grant by default', async () => {
    await expectInvalidGrant(await refresh('unknown'), /unknown/);
  });
});
