import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { runPlan } from '../lib/emulator/failures.ts';
import {
  type ArgusEmulator,
  type FailurePlan,
  type RecordedRequest,
  startArgusEmulator,
} from '../lib/emulator/index.ts';
import { recordSize } from '../lib/emulator/recording.ts';
import { readExchange } from '../lib/emulator/server.ts';
import { Timers } from '../lib/emulator/timers.ts';
import { demoClientCalls } from './helpers/emulator-calls.ts';

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator();
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

const { tokenRequest, login, currentUser } = demoClientCalls(() => emulator);

/** A refresh grant with a made-up token: 400 unless a plan answers first. */
const refresh = () => tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'x' });

/** Stops `Date` for this test, so that only the emulator clock's moves count. */
function freezeDate(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  onTestFinished(() => {
    vi.useRealTimers();
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

  it('fails every request during the planned time on the emulator clock, then none', async () => {
    freezeDate();
    emulator.failNext('token', { status: 503, during: 1000 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await refresh()).status);
    emulator.clock.advance(999);
    statuses.push((await refresh()).status);
    emulator.clock.advance(1);
    statuses.push((await refresh()).status);
    expect(statuses).toEqual([503, 503, 503, 503, 503, 400]);
  });

  it('ends a timed plan at its times when they come first, and plays the next plan after its time', async () => {
    freezeDate();
    emulator.failNext('token', { status: 502, during: 1000, times: 2 });
    emulator.failNext('token', { status: 504, during: 1000 });
    emulator.failNext('token', { status: 500 });
    const statuses = [(await refresh()).status, (await refresh()).status];
    statuses.push((await refresh()).status);
    emulator.clock.advance(1000);
    // The 504 plan's time is over unused: the count-based one after it plays.
    statuses.push((await refresh()).status, (await refresh()).status);
    expect(statuses).toEqual([502, 502, 504, 500, 400]);
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
    ['during 0', 'token', { status: 503, during: 0 }, /during must be/],
    ['during as text', 'token', { status: 503, during: '1000' }, /during must be/],
    ['two modes', 'token', { hang: true, reset: true }, /choose one of hang, reset/],
    ['a status with hang', 'token', { hang: true, status: 500 }, /hang takes no status/],
    ['an unknown field', 'token', { stauts: 500 }, /unknown plan field stauts/],
    ['a redirect with a line break', 'token', { redirect: 'x\r\ny' }, /redirect must be/],
    [
      'a content type with a control character',
      'token',
      { delay: 10, status: 500, contentType: 'text/plain\u0001' },
      /contentType must be a valid HTTP header value/,
    ],
    [
      'a redirect beyond Latin-1',
      'token',
      { redirect: 'https://elsewhere.example/€' },
      /redirect must be a valid HTTP header value/,
    ],
    ['an empty content type', 'token', { contentType: '' }, /contentType must be a non-empty/],
  ])('refuses a plan with %s', (_name, endpoint, plan, message) => {
    expect(() => emulator.failNext(endpoint as 'token', plan as FailurePlan)).toThrow(TypeError);
    expect(() => emulator.failNext(endpoint as 'token', plan as FailurePlan)).toThrow(message);
  });
});

describe('a planned answer that cannot be written', () => {
  it('ends only its own connection, from a timer, and the server goes on', async () => {
    // A plan that skipped validation stands for any write that throws after a delay.
    const plan = { delay: 1, status: 500, contentType: 'text/plain\u0001' } as FailurePlan;
    const timers = new Timers();
    const server = createServer((req, res) => {
      void readExchange(req, res).then((ex) => {
        if (req.url === '/fail') return runPlan(plan, ex, timers, Date.now, () => {});
        res.end('still here');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const get = (path: string) =>
      new Promise<string>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        });
        req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        req.end();
      });
    try {
      expect(await get('/fail')).toBe('ECONNRESET');
      expect(await get('/')).toBe('200 still here');
    } finally {
      timers.clear();
      server.close();
    }
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

  it('keeps the recorded bytes under maxRecordedBytes: long bodies cut, oldest dropped first', async () => {
    const maxRecordedBytes = 256 * 1024;
    const own = await startArgusEmulator({ maxRecordedBytes });
    try {
      const body = `username=${'a'.repeat(60_000)}`;
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${own.url}/spa/login?i=${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        await res.arrayBuffer();
      }
      const kept = own.requests;
      const bytes = kept.reduce((sum, request) => sum + recordSize(request), 0);
      expect(bytes).toBeLessThanOrEqual(maxRecordedBytes);
      expect(bytes).toBeGreaterThan(maxRecordedBytes / 2);
      // The newest stay, in order, with no gap.
      const numbers = kept.map((request) => Number(request.query.slice(2)));
      expect(numbers.at(-1)).toBe(59);
      expect(numbers).toEqual(numbers.map((_, i) => 60 - numbers.length + i));
      const last = kept.at(-1);
      expect(last?.bodyTruncated).toBe(true);
      expect(last?.body).toMatch(
        /^username=a+\.\.\.\[cut by the Argus emulator: 16384 of 60009 bytes kept\]$/,
      );
      expect(last?.form).toBeUndefined();
    } finally {
      await own.close();
    }
  });

  it('keeps the last 1 000 requests by default, and maxRecordedRequests changes that', async () => {
    for (let batch = 0; batch < 10; batch++) {
      const calls = Array.from({ length: 100 }, () => fetch(`${emulator.url}/nowhere`));
      await Promise.all(calls.map(async (call) => (await call).text()));
    }
    for (const i of [1, 2, 3, 4, 5]) await (await fetch(`${emulator.url}/last?${i}`)).text();
    expect(emulator.requests).toHaveLength(1_000);
    expect(emulator.requests.slice(-5).map((request) => request.query)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
    const own = await startArgusEmulator({ maxRecordedRequests: 2 });
    try {
      for (const i of [1, 2, 3]) await (await fetch(`${own.url}/nowhere?${i}`)).text();
      expect(own.requests.map((request) => request.query)).toEqual(['2', '3']);
    } finally {
      await own.close();
    }
  });

  it.each([
    [{ maxRecordedRequests: 0 }, 'maxRecordedRequests must be an integer of at least 1'],
    [{ maxRecordedBytes: 1_000 }, 'maxRecordedBytes must be an integer of at least 65536'],
    [{ maxRecordedBytes: 1.5e6 + 0.5 }, 'maxRecordedBytes must be an integer of at least 65536'],
  ])('refuses a bad recording bound: %j', async (options, message) => {
    await expect(startArgusEmulator(options)).rejects.toThrow(`Argus emulator: ${message}`);
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
