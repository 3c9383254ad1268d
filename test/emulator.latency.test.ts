import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ArgusEmulator, DEMO_CLIENT, startArgusEmulator } from '../lib/emulator/index.ts';
import { demoClientCalls, type LoginTokens } from './helpers/emulator-calls.ts';

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ rotateRefreshTokens: true, reuseDetection: true });
});

beforeEach(() => emulator.reset());

afterEach(() => vi.useRealTimers());

afterAll(() => emulator.close());

const { tokenRequest, login } = demoClientCalls(() => emulator);

/** The form body of a refresh by the demo client. */
function refreshBody(refreshToken: string): string {
  return new URLSearchParams({
    client_id: DEMO_CLIENT.clientID,
    client_secret: DEMO_CLIENT.clientSecret,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  }).toString();
}

/**
 * One request on a new connection, answered: by then the emulator has also handled the end of
 * any connection closed before it was sent, since that arrived first.
 */
function roundTrip(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${emulator.url}/spa/`, { agent: false }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', reject);
    req.end();
  });
}

/** A refresh as the client that sent it later sees it, with the emulator's timers faked. */
async function expectTokenStillWorks(tokens: LoginTokens): Promise<void> {
  // Whatever was left of the delay passes: nothing may run then.
  vi.advanceTimersByTime(3_600_000);
  vi.useRealTimers();
  const res = await tokenRequest(emulator, {
    grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token,
  });
  expect(res.status).toBe(200);
  expect((await res.json()) as LoginTokens).toHaveProperty('refresh_token');
  expect(emulator.grantEvents().map((event) => event.type)).toEqual(['issued', 'refreshed']);
}

describe('a delayed request whose client has gone away', () => {
  it('is never processed: the refresh token it carried still works, once', async () => {
    const tokens = await login();
    // Only the emulator's delay runs on faked timers; the client's time limit is a socket one.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    emulator.failNext('token', { delay: 60_000 });
    const req = request(`${emulator.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      timeout: 50,
    });
    // Settles once the client's connection is closed, with what the client saw.
    const outcome = new Promise<string>((resolve) => {
      let seen = 'answered';
      req.once('error', (error) => {
        seen = error.message;
      });
      req.once('close', () => resolve(seen));
    });
    req.once('timeout', () => req.destroy(new Error('client timeout')));
    req.end(refreshBody(tokens.refresh_token));
    expect(await outcome).toBe('client timeout');
    expect(emulator.requestsTo('token').at(-1)?.form?.refresh_token).toEqual([
      tokens.refresh_token,
    ]);
    await roundTrip();
    await expectTokenStillWorks(tokens);
  });

  it('is never processed when it waited behind another request on the same connection', async () => {
    const tokens = await login();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    emulator.failNext('token', { delay: 60_000, times: 2 });
    const { hostname: host, port } = new URL(emulator.url);
    const socket = connect(Number(port), host);
    const body = refreshBody(tokens.refresh_token);
    const head = [
      'POST /authentication/v1/oauth/token HTTP/1.1',
      `Host: ${host}:${port}`,
      'Content-Type: application/x-www-form-urlencoded',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ].join('\r\n');
    // HTTP/1.1 pipelining: the second request is sent before the first is answered.
    socket.end(`${head}\r\n\r\n${body}${head}\r\n\r\n${body}`);
    await vi.waitFor(() => expect(emulator.requestsTo('token')).toHaveLength(3));
    socket.destroy();
    await roundTrip();
    await expectTokenStillWorks(tokens);
  });
});
