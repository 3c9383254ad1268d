import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  type GrantEvent,
  startArgusEmulator,
} from '../lib/emulator/index.ts';
import { GrantEventLog } from '../lib/emulator/grant-events.ts';
import { DEMO_REDIRECT, demoClientCalls, type LoginTokens } from './helpers/emulator-calls.ts';

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ controlAPI: true });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

const { tokenRequest, login } = demoClientCalls(() => emulator);

function refresh(refreshToken: string, secret = DEMO_CLIENT.clientSecret): Promise<Response> {
  return tokenRequest(emulator, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_secret: secret,
  });
}

/** The events as type and reason pairs, for compact assertions. */
function steps(): string[] {
  return emulator.grantEvents().map((e) => (e.reason ? `${e.type}:${e.reason}` : e.type));
}

/** Every event names one grant: the one alice's login made. */
function expectOneGrant(events: readonly GrantEvent[]): void {
  const ids = new Set(events.map((event) => event.grantId));
  expect(ids.size).toBe(1);
  expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  expect(events.every((event) => event.userName === 'alice')).toBe(true);
}

/** No token of a login appears anywhere in the log. */
function expectNoTokens(tokens: LoginTokens[]): void {
  const text = JSON.stringify(emulator.grantEvents());
  for (const { access_token, refresh_token } of tokens) {
    expect(text).not.toContain(access_token);
    expect(text).not.toContain(refresh_token);
    expect(text).not.toContain(access_token.split('/')[1]);
  }
  expect(text).not.toContain(DEMO_CLIENT.clientSecret);
}

describe('grant events', () => {
  it('logs issued at the code exchange and refreshed at each refresh, on the emulator clock', async () => {
    emulator.clock.set(1_700_000_000_000);
    const tokens = await login();
    emulator.clock.advance(60_000);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    const events = emulator.grantEvents();
    expect(steps()).toEqual(['issued', 'refreshed']);
    expectOneGrant(events);
    expect(events[0]?.at).toBeGreaterThanOrEqual(1_700_000_000_000);
    expect(events[0]?.at).toBeLessThan(1_700_000_010_000);
    expect(events[1]?.at).toBeGreaterThanOrEqual(1_700_000_060_000);
    expectNoTokens([tokens]);
  });

  it('logs reused, ended and rejected when reuse detection revokes a grant', async () => {
    emulator.configure({ rotateRefreshTokens: true });
    const tokens = await login();
    const rotated = (await (await refresh(tokens.refresh_token)).json()) as LoginTokens;
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect((await refresh(rotated.refresh_token)).status).toBe(400);
    expect(steps()).toEqual([
      'issued',
      'refreshed',
      'reused',
      'ended:reuse_detected',
      'rejected:reuse_detected',
      'rejected:grant_ended',
    ]);
    expectOneGrant(emulator.grantEvents());
    expectNoTokens([tokens, rotated]);
  });

  it('logs reused and rejected, and ends nothing, without reuse detection', async () => {
    emulator.configure({ rotateRefreshTokens: true, reuseDetection: false });
    const tokens = await login();
    const rotated = (await (await refresh(tokens.refresh_token)).json()) as LoginTokens;
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect((await refresh(rotated.refresh_token)).status).toBe(200);
    expect(steps()).toEqual(['issued', 'refreshed', 'reused', 'rejected:token_spent', 'refreshed']);
  });

  it('logs ended when the user logs out of Argus, then rejects the refresh for it', async () => {
    const tokens = await login();
    emulator.logoutUser('alice');
    emulator.logoutUser('alice');
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect(steps()).toEqual(['issued', 'ended:user_logout', 'rejected:user_logged_out']);
    expectOneGrant(emulator.grantEvents());
  });

  it('logs ended when the client deletes the session', async () => {
    const tokens = await login();
    const res = await fetch(`${emulator.url}/authentication/v1/session`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(res.status).toBe(200);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect(steps()).toEqual(['issued', 'ended:session_delete', 'rejected:grant_ended']);
  });

  it('logs ended when a code comes back a second time', async () => {
    const portal = await fetch(`${emulator.url}/spa/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'alice', password: 'alice-password' }),
    });
    const cookie = portal.headers.get('set-cookie')?.split(';')[0] ?? '';
    const query = new URLSearchParams({
      client_id: DEMO_CLIENT.clientID,
      redirect_uri: DEMO_REDIRECT,
      response_type: 'code',
    });
    const authorize = await fetch(`${emulator.url}/spa/oauth/authorize?${query}`, {
      redirect: 'manual',
      headers: { cookie },
    });
    const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: DEMO_REDIRECT };
    expect((await tokenRequest(emulator, exchange)).status).toBe(200);
    expect((await tokenRequest(emulator, exchange)).status).toBe(400);
    expect(steps()).toEqual(['issued', 'ended:code_replay']);
    expect(JSON.stringify(emulator.grantEvents())).not.toContain(code);
  });

  it('logs ended and rejected when a refresh comes after the refresh timeout', async () => {
    emulator.configure({ refreshTimeout: 60_000 });
    const tokens = await login();
    emulator.clock.advance(60_001);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect(steps()).toEqual([
      'issued',
      'ended:refresh_timeout',
      'rejected:refresh_timeout',
      'rejected:refresh_timeout',
    ]);
  });

  it('logs a refresh with an unknown token as rejected with no grant and no user', async () => {
    expect((await refresh('no-such-token')).status).toBe(400);
    expect(emulator.grantEvents()).toEqual([
      {
        at: expect.any(Number),
        type: 'rejected',
        grantId: '',
        userName: '',
        reason: 'unknown_token',
      },
    ]);
  });

  it('logs a refresh refused for bad client authentication under its grant', async () => {
    const tokens = await login();
    expect((await refresh(tokens.refresh_token, 'wrong-secret')).status).toBe(401);
    expect(steps()).toEqual(['issued', 'rejected:invalid_client']);
    expectOneGrant(emulator.grantEvents());
    expect(JSON.stringify(emulator.grantEvents())).not.toContain('wrong-secret');
  });

  it('logs nothing for a refresh that a failure plan answered instead', async () => {
    const tokens = await login();
    emulator.failNext('token', { status: 503 });
    expect((await refresh(tokens.refresh_token)).status).toBe(503);
    expect(steps()).toEqual(['issued']);
  });

  it('serves the log over the control API, and reset() clears it', async () => {
    await login();
    const res = await fetch(`${emulator.url}/__emulator/grant-events`);
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: GrantEvent[] };
    expect(events).toEqual(emulator.grantEvents());
    expect(events.map((event) => event.type)).toEqual(['issued']);
    emulator.reset();
    expect(emulator.grantEvents()).toEqual([]);
  });

  it('hands out a copy that callers cannot change', async () => {
    await login();
    const copy = emulator.grantEvents() as GrantEvent[];
    copy.length = 0;
    expect(emulator.grantEvents()).toHaveLength(1);
    expect(Object.isFrozen(emulator.grantEvents()[0])).toBe(true);
  });
});

describe('the grant event log', () => {
  it('keeps the last events up to its limit, oldest dropped first, in order', () => {
    const log = new GrantEventLog(3);
    for (let i = 1; i <= 7; i++)
      log.add({ at: i, type: 'issued', grantId: `g${i}`, userName: 'u' });
    expect(log.list().map((event) => event.at)).toEqual([5, 6, 7]);
    log.clear();
    expect(log.list()).toEqual([]);
  });
});
