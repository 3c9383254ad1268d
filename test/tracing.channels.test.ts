/**
 * The tracing channels as an APM agent subscribed to `node:diagnostics_channel` sees them:
 * the events of each traced call, in order, and the context fields filled in by `asyncEnd`.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { ArgusTraceChannel, type TraceContext } from 'passport-argus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
/** `<channel> <event>` lines, and the context of each `asyncEnd`, copied as it was then. */
let lines: string[];
let ended: { channel: string; context: Record<string, unknown> }[];
let unsubscribe: () => void;

beforeEach(() => {
  useMovableTime();
  lines = [];
  ended = [];
  const undo: (() => void)[] = [];
  for (const name of Object.values(ArgusTraceChannel)) {
    const channel = tracingChannel<unknown, TraceContext>(name);
    const short = name.replace('passport-argus:', '');
    const handlers = {
      start: () => lines.push(`${short} start`),
      end: () => undefined,
      asyncStart: () => undefined,
      error: (context: TraceContext) =>
        lines.push(`${short} error ${(context.error as { code?: string }).code}`),
      asyncEnd: (context: TraceContext) => {
        lines.push(`${short} asyncEnd`);
        ended.push({ channel: short, context: { ...context } });
      },
    };
    channel.subscribe(handlers);
    undo.push(() => channel.unsubscribe(handlers));
  }
  unsubscribe = () => {
    for (const step of undo) step();
  };
});
afterEach(async () => {
  unsubscribe();
  restoreTime();
  await app?.close();
});

const json = { headers: { accept: 'application/json' } };

describe('the tracing channels', () => {
  it('publish a login around its code exchange and profile request, each context filled in at asyncEnd', async () => {
    app = await startTestApp();
    await app.login();
    expect(lines).toEqual([
      'login start',
      'exchange start',
      'exchange asyncEnd',
      'profile start',
      'profile asyncEnd',
      'login asyncEnd',
    ]);
    expect(ended.map(({ channel, context }) => [channel, context])).toEqual([
      [
        'exchange',
        {
          purpose: 'token exchange',
          method: 'POST',
          path: '/authentication/v1/oauth/token',
          status: 200,
          outcome: 'success',
          durationMs: expect.any(Number),
          // tracePromise's own field: empty, since the token set must not sit on the context.
          result: undefined,
        },
      ],
      [
        'profile',
        {
          purpose: 'profile request',
          method: 'GET',
          path: '/currentuser/v1/user',
          status: 200,
          outcome: 'success',
          durationMs: expect.any(Number),
          result: undefined,
        },
      ],
      ['login', { outcome: 'success', durationMs: expect.any(Number), result: undefined }],
    ]);
  });

  it('show one refresh going to Argus and the concurrent requests sharing it, with the time they waited', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    ended.length = 0;
    advance(250_000);
    app.emulator.failNext('token', { delay: 100 });
    const answers = await Promise.all(
      [1, 2, 3].map(() => browser.request(`${app.url}/app/me`, json)),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(app.emulator.requestsTo('token')).toHaveLength(2);

    const refreshes = ended.filter(({ channel }) => channel === 'refresh');
    const bySource = (source: string) =>
      refreshes.filter(({ context }) => context.source === source).map(({ context }) => context);
    const [leader] = bySource('argus');
    expect(leader).toMatchObject({ outcome: 'success', status: 200 });
    expect(leader?.durationMs).toBeGreaterThanOrEqual(100);
    expect(leader?.waitMs).toBeLessThan(leader?.durationMs as number);
    const shared = bySource('shared');
    expect(shared).toHaveLength(2);
    for (const context of shared) {
      expect(context).toMatchObject({ outcome: 'success', waitMs: context.durationMs });
      expect(context).not.toHaveProperty('status');
    }
  });

  it('publish the error of a refresh Argus rejects, and the logout that follows', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    lines.length = 0;
    ended.length = 0;
    app.emulator.logoutUser('alice');
    advance(250_000);
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(401);
    expect(lines).toEqual([
      'refresh start',
      'refresh error ARGUS_REJECTED',
      'refresh asyncEnd',
      'logout start',
      'logout asyncEnd',
    ]);
    expect(ended.map(({ context }) => context)).toEqual([
      expect.objectContaining({
        source: 'argus',
        // The emulator rejects as Argus does: 400 invalid_grant.
        status: 400,
        outcome: 'rejected',
        errorCode: 'ARGUS_REJECTED',
      }),
      expect.objectContaining({
        reason: 'rejected',
        argusSession: 'not-called',
        outcome: 'success',
      }),
    ]);
  });
});
