import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ArgusEmulator, DEMO_CLIENT, startArgusEmulator } from '../lib/emulator/index.ts';

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator();
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

function tokenRequest(target: ArgusEmulator, signal?: AbortSignal): Promise<Response> {
  return fetch(`${target.url}/authentication/v1/oauth/token`, {
    method: 'POST',
    redirect: 'manual',
    signal,
    body: new URLSearchParams({
      client_id: DEMO_CLIENT.clientID,
      client_secret: DEMO_CLIENT.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: 'x',
    }),
  });
}

/** Reads from a body until it has at least `bytes` bytes, and returns what came. */
async function readAtLeast(res: Response, bytes: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) throw new Error('no body');
  const decoder = new TextDecoder();
  let text = '';
  while (text.length < bytes) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the body ended after ${text.length} bytes`);
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

describe('the drip failure plan (a body that never ends)', () => {
  it('sends the headers of a 200 JSON answer, then the body a byte at a time', async () => {
    emulator.failNext('token', { drip: true });
    const res = await tokenRequest(emulator);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-length')).toBeNull();
    const text = await readAtLeast(res, 5);
    expect(text).toMatch(/^\{"x+$/);
  });

  it('never ends the body: only the client’s own time limit does', async () => {
    emulator.failNext('token', { drip: true });
    const res = await tokenRequest(emulator, AbortSignal.timeout(300));
    await expect(res.text()).rejects.toThrow(/abort|timeout/i);
    // The next request is answered normally.
    expect((await tokenRequest(emulator)).status).toBe(400);
  });

  it('stops dripping when the emulator closes, and close() does not wait for it', async () => {
    const own = await startArgusEmulator();
    own.failNext('token', { drip: true });
    const res = await tokenRequest(own);
    const body = res.text();
    await own.close();
    await expect(body).rejects.toThrow();
  });

  it('is one mode: it takes no status or body and mixes with no other mode', () => {
    expect(() => emulator.failNext('token', { drip: true, status: 500 })).toThrow(
      /drip takes no status or body/,
    );
    expect(() => emulator.failNext('token', { drip: true, hang: true })).toThrow(
      /choose one of hang, drip/,
    );
    expect(() => emulator.failNext('token', { drip: 'yes' as never })).toThrow(
      /drip must be true or false/,
    );
  });
});
