/**
 * The leak scan (R8 and the failure rules): a whole login → API call → refresh → logout,
 * and flows that fail in every way we can provoke, with debug logging on, every tracing
 * channel subscribed and OpenTelemetry spans recorded. No access token, refresh token,
 * authorization code, PKCE verifier, client secret or session id may appear in any
 * response body or header the app sent, any Set-Cookie, any log line, any event payload,
 * any error, any tracing context, any span (name, attribute or status) or the strategy's
 * stats. The real values are read from what the emulator received and from the session
 * store.
 */
import { randomBytes } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { format, inspect } from 'node:util';
import * as otel from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import createDebug from 'debug';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArgusEvents, ArgusTraceChannel, type TraceContext } from 'passport-argus';
import { otelSpans } from 'passport-argus/otel';
import { Browser } from './helpers/browser.ts';
import { CLIENT_SECRET, startTestApp, type TestApp } from './helpers/app.ts';
import { callbackFor } from './helpers/hostile.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';
import { type CapturedWarning, captureWarnings, releaseWarnings } from './helpers/warnings.ts';

// Some callbacks here are sent without their login's session cookie on purpose: the one
// warning that causes is recorded instead of printed, and no other may appear.
let warnings: CapturedWarning[] = [];
beforeEach(() => {
  warnings = captureWarnings();
});
afterEach(() => {
  releaseWarnings();
  expect(warnings.filter((w) => w.code !== 'PASSPORT_ARGUS_COOKIE_LOST')).toEqual([]);
});

/** Everything the app let out during a run. */
interface Emitted {
  logLines: string[];
  events: string[];
  /** Session records as the store held them, scanned too when a test encrypts them. */
  storedRecords: string[];
  /** Each tracing channel's context at each of its events, dumped whole (its error too). */
  traces: string[];
  /** Strategy stats, read after each step. */
  stats: string[];
}

let emitted: Emitted;
let restoreLog: () => void;
let spans: InMemorySpanExporter;
const untrace: (() => void)[] = [];

/** Records every tracing channel's contexts, as an APM agent would see them, and spans. */
function traceEverything(): void {
  for (const name of Object.values(ArgusTraceChannel)) {
    const dump = (event: string) => (context: TraceContext) => {
      // As errors are dumped below: an ArgusError keeps Argus's raw answer non-enumerable.
      emitted.traces.push(`${name} ${event} ${inspect(context, { depth: 10 })}`);
    };
    const handlers = {
      start: dump('start'),
      end: dump('end'),
      asyncStart: dump('asyncStart'),
      asyncEnd: dump('asyncEnd'),
      error: dump('error'),
    };
    const channel = tracingChannel<unknown, TraceContext>(name);
    channel.subscribe(handlers);
    untrace.push(() => channel.unsubscribe(handlers));
  }
  spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  untrace.push(otelSpans(otel, { tracer: provider.getTracer('leaks') }));
}

beforeEach(() => {
  emitted = { logLines: [], events: [], storedRecords: [], traces: [], stats: [] };
  traceEverything();
  const previousLog = createDebug.log;
  const previousNamespaces = createDebug.disable();
  createDebug.enable('passport-argus:*');
  createDebug.log = (...args: unknown[]) => {
    emitted.logLines.push(format(...args));
  };
  restoreLog = () => {
    createDebug.log = previousLog;
    createDebug.disable();
    if (previousNamespaces) createDebug.enable(previousNamespaces);
  };
  useMovableTime();
});

let app: TestApp;
afterEach(async () => {
  for (const undo of untrace.splice(0)) undo();
  restoreLog();
  restoreTime();
  await app?.close();
});

const api = { headers: { accept: 'application/json' } };
const EVENTS: (keyof ArgusEvents)[] = [
  'login',
  'login-failed',
  'refresh',
  'refresh-failed',
  'logout',
  'problem',
];

/** Values planted in hostile Argus answers: they must not come out either. */
const PLANTED = ['alice/PLANTED-in-a-bad-answer-1', 'alice/PLANTED2'];

async function start(options: Parameters<typeof startTestApp>[0] = {}) {
  app = await startTestApp({ strategy: { timeout: 400 }, ...options });
  for (const name of EVENTS) {
    app.strategy.events.on(name, (payload: unknown) => {
      emitted.events.push(`${name} ${inspect(payload, { depth: 10 })}`);
    });
  }
}

/** Secrets seen so far in the session store (snapshots, since sessions end). */
const fromStore = new Set<string>();
/** Session ids seen: fine in a Set-Cookie, never in a log line, an event or an error. */
const ids = new Set<string>();
async function snapshot(browser: Browser): Promise<void> {
  emitted.stats.push(JSON.stringify(app.strategy.stats()));
  const sid = app.sessionId(browser);
  if (sid === undefined) return;
  ids.add(sid);
  const record = await app.storedSession(sid);
  const tokens = record?.argus as { accessToken?: string; refreshToken?: string } | undefined;
  if (tokens?.accessToken) fromStore.add(tokens.accessToken);
  if (tokens?.refreshToken) fromStore.add(tokens.refreshToken);
  const logins = (record?.argusLogins ?? []) as { verifier?: string }[];
  for (const login of logins) if (login.verifier) fromStore.add(login.verifier);
}

/** Every secret value, and the encodings in which it could turn up. */
function secrets(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (kind: string, value: string | undefined) => {
    if (value === undefined || value.length < 8) return;
    for (const variant of [
      value,
      encodeURIComponent(value),
      new URLSearchParams([['v', value]]).toString().slice(2),
      Buffer.from(value).toString('base64'),
    ]) {
      found.set(variant, kind);
    }
    // The random part of an Argus token ("<username>/<random>") is the secret itself.
    const slash = value.indexOf('/');
    if (slash > 0 && value.length - slash > 8) found.set(value.slice(slash + 1), kind);
  };
  for (const request of app.emulator.requests) {
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) add('access token', auth.slice(7));
    if (typeof auth === 'string' && auth.startsWith('Basic '))
      add('basic credentials', auth.slice(6));
    add('authorization code', request.form?.code?.[0]);
    add('PKCE verifier', request.form?.code_verifier?.[0]);
    add('refresh token', request.form?.refresh_token?.[0]);
    add('client secret', request.form?.client_secret?.[0]);
  }
  for (const value of fromStore) add('a value from the session store', value);
  add('client secret', CLIENT_SECRET);
  for (const value of PLANTED) add('a value planted in a hostile answer', value);
  return found;
}

function sessionIds(browsers: Browser[]): string[] {
  for (const browser of browsers) {
    const sid = app.sessionId(browser);
    if (sid !== undefined) ids.add(sid);
  }
  return [...ids];
}

/** Every place something could leak, labelled. */
function outputs(browsers: Browser[]): [where: string, text: string][] {
  const all: [string, string][] = [];
  for (const browser of browsers) {
    for (const seen of browser.seen) {
      if (!seen.url.startsWith(app.url)) continue;
      all.push([`body of ${seen.method} ${new URL(seen.url).pathname}`, seen.body]);
      all.push([
        `headers of ${seen.method} ${new URL(seen.url).pathname}`,
        JSON.stringify([...seen.headers]),
      ]);
    }
  }
  for (const line of emitted.logLines) all.push(['log line', line]);
  for (const event of emitted.events) all.push(['event', event]);
  for (const record of emitted.storedRecords) all.push(['stored session record', record]);
  for (const trace of emitted.traces) all.push(['tracing context', trace]);
  for (const span of spans.getFinishedSpans()) {
    all.push(['span', inspect([span.name, span.attributes, span.status, span.events])]);
  }
  emitted.stats.push(JSON.stringify(app.strategy.stats()));
  for (const stats of emitted.stats) all.push(['stats', stats]);
  for (const error of app.errors) {
    all.push([
      'error',
      `${String(error)} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`,
    ]);
  }
  return all;
}

function leaks(browsers: Browser[]): string[] {
  const found: string[] = [];
  const all = outputs(browsers);
  for (const [value, kind] of secrets()) {
    for (const [where, text] of all) {
      if (text.includes(value)) found.push(`${kind} in ${where}`);
    }
  }
  const logsEventsErrors = all.filter(([where]) => !where.startsWith('headers of'));
  for (const id of sessionIds(browsers)) {
    for (const [where, text] of logsEventsErrors) {
      if (text.includes(id)) found.push(`session id in ${where}`);
    }
  }
  return found;
}

describe('R8: nothing secret leaves the server', () => {
  it('R8: a whole login → API call → refresh → API call → logout leaks nothing anywhere', async () => {
    await start({ emulator: { rotateRefreshTokens: true } });
    const browser = new Browser();
    await browser.follow(`${app.url}/app/page`); // sent to the login, session started
    await snapshot(browser);
    const callback = await callbackFor(app, browser);
    await snapshot(browser);
    await browser.follow(callback.href);
    await snapshot(browser);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    advance(250_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    await snapshot(browser);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    expect((await browser.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);

    // The run did what it says, and the capture saw it.
    const grants = app.emulator.requestsTo('token').map((r) => r.form?.grant_type?.[0]);
    expect(grants).toEqual(['authorization_code', 'refresh_token']);
    expect(app.emulator.requestsTo('session-delete')).toHaveLength(1);
    expect(emitted.logLines.some((l) => l.includes('passport-argus:http'))).toBe(true);
    expect(emitted.logLines.some((l) => l.includes('passport-argus:refresh'))).toBe(true);
    expect(emitted.events.map((e) => e.split(' ')[0])).toEqual(['login', 'refresh', 'logout']);
    expect(new Set(spans.getFinishedSpans().map((span) => span.name))).toEqual(
      new Set([
        'argus login',
        'argus token exchange',
        'argus profile',
        'argus fetch',
        'argus refresh',
        'argus logout',
      ]),
    );
    const traced = emitted.traces.filter((t) => t.split(' ')[1] === 'asyncEnd');
    expect(traced.map((t) => t.split(' ')[0]?.replace('passport-argus:', ''))).toEqual([
      'exchange',
      'profile',
      'login',
      'fetch',
      'refresh',
      'fetch',
      'logout',
    ]);
    expect(secrets().size).toBeGreaterThan(20);

    expect(leaks([browser])).toEqual([]);
  });

  it('R8: failing flows leak nothing: hostile answers, rejections, outages and timeouts', async () => {
    await start();
    const browsers: Browser[] = [];
    const fresh = () => {
      const browser = new Browser();
      browsers.push(browser);
      return browser;
    };

    // A code exchange answered with a token in a shape we refuse, and one with a bare token.
    for (const body of [
      `{"access_token":"${PLANTED[0]}","token_type":"mac","expires_in":300}`,
      PLANTED[1] as string,
    ]) {
      const browser = fresh();
      const callback = await callbackFor(app, browser);
      await snapshot(browser);
      app.emulator.failNext('token', { status: 200, contentType: 'text/plain', body });
      // An unreadable answer is "Argus unavailable": 503, as on every path.
      expect((await browser.request(callback.href)).status).toBe(503);
    }
    // A code Argus refuses, and a code exchange that times out.
    for (const plan of [
      { status: 400, contentType: 'application/json', body: '{"error":"invalid_grant"}' },
      { hang: true },
    ]) {
      const browser = fresh();
      const callback = await callbackFor(app, browser);
      await snapshot(browser);
      app.emulator.failNext('token', plan);
      // A failed login (to the failure page), or a 503 (unavailable).
      expect([302, 503]).toContain((await browser.request(callback.href)).status);
    }
    // A replayed and a cross-session callback.
    const owner = fresh();
    const stolen = await callbackFor(app, owner);
    await owner.request(stolen.href);
    await snapshot(owner);
    await owner.request(stolen.href);
    await fresh().request(stolen.href);

    // A refresh during an outage, then an API call whose refresh fails, then a rejection.
    const user = fresh();
    await app.login(user);
    await snapshot(user);
    advance(400_000);
    app.emulator.failNext('token', { reset: true });
    expect((await user.request(`${app.url}/app/argus`, api)).status).toBe(503);
    expect((await user.request(`${app.url}/app/argus`, api)).status).toBe(200);
    await snapshot(user);
    app.emulator.failNext('currentuser', { status: 401 });
    app.emulator.failNext('token', { status: 503 });
    expect((await user.request(`${app.url}/app/argus`, api)).status).toBe(503);
    app.emulator.failNext('currentuser', { drip: true });
    // A timeout is "Argus unavailable": 503, as on every path.
    expect((await user.request(`${app.url}/app/argus`, api)).status).toBe(503);
    await snapshot(user);
    app.emulator.logoutUser('alice');
    advance(400_000);
    expect((await user.request(`${app.url}/app/argus`, api)).status).toBe(401);

    // A logout while Argus is down.
    const leaving = fresh();
    await app.login(leaving, 'bob');
    await snapshot(leaving);
    app.emulator.failNext('session-delete', { status: 503, body: `{"token":"${PLANTED[0]}"}` });
    expect((await leaving.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);

    expect(app.errors.length).toBeGreaterThanOrEqual(5);
    expect(emitted.events.some((e) => e.startsWith('refresh-failed'))).toBe(true);
    expect(emitted.events.some((e) => e.startsWith('logout'))).toBe(true);
    expect(emitted.events.filter((e) => e.startsWith('login-failed')).length).toBeGreaterThan(4);
    expect(emitted.traces.filter((t) => / error /.test(t)).length).toBeGreaterThan(5);
    expect(leaks(browsers)).toEqual([]);
  });

  it('R8 with encryptionKeys: a whole run leaves no token in the session store either', async () => {
    await start({
      emulator: { rotateRefreshTokens: true },
      strategy: { timeout: 400, encryptionKeys: randomBytes(32).toString('base64') },
    });
    const browser = new Browser();
    const keep = async () => {
      const record = await app.storedSession(app.sessionId(browser) ?? '');
      if (record !== undefined) emitted.storedRecords.push(JSON.stringify(record));
    };
    await browser.follow(`${app.url}/app/page`);
    await browser.follow((await callbackFor(app, browser)).href);
    await keep();
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    await keep();
    advance(250_000);
    expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
    await keep();
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    await keep();
    expect((await browser.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);

    const grants = app.emulator.requestsTo('token').map((r) => r.form?.grant_type?.[0]);
    expect(grants).toEqual(['authorization_code', 'refresh_token']);
    expect(emitted.storedRecords).toHaveLength(4);
    expect(emitted.storedRecords.every((r) => r.includes('"sealed":"v1.'))).toBe(true);
    expect(leaks([browser])).toEqual([]);
  });

  it('the scan finds a leak when there is one', async () => {
    await start();
    const { browser } = await app.login();
    await snapshot(browser);
    expect(leaks([browser])).toEqual([]);
    const record = await app.storedSession(app.sessionId(browser) ?? '');
    const token = (record?.argus as { accessToken?: string } | undefined)?.accessToken;
    expect(token).toMatch(/^alice\//);
    createDebug('passport-argus:test')('careless line %s', token);
    expect(leaks([browser]).filter((leak) => leak.endsWith(' in log line'))).not.toEqual([]);
    // A context that carried a token would be caught too.
    tracingChannel(ArgusTraceChannel.FETCH).asyncEnd.publish({ path: `/x/${token}` });
    expect(leaks([browser]).filter((leak) => leak.endsWith(' in tracing context'))).not.toEqual([]);
  });
});
