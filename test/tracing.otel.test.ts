/**
 * `passport-argus/otel`: what an operator sees in OpenTelemetry when the app wires
 * `otelSpans(api)`. Real logins, refreshes, API calls and logouts over HTTP against the
 * emulator; the spans land in the SDK's in-memory exporter.
 */
import * as api from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { tracingChannel } from 'node:diagnostics_channel';
import { ArgusTraceChannel } from 'passport-argus';
import { otelSpans } from 'passport-argus/otel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.ts';
import { callbackFor } from './helpers/hostile.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
let exporter: InMemorySpanExporter;
let unsubscribe: () => void;

beforeEach(() => {
  useMovableTime();
  exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  unsubscribe = otelSpans(api, { tracer: provider.getTracer('test') });
});
afterEach(async () => {
  unsubscribe();
  restoreTime();
  await app?.close();
});

const json = { headers: { accept: 'application/json' } };

async function start() {
  app = await startTestApp({
    protectedRoutes: (express) => {
      express.get('/app/search', async (req, res, next) => {
        try {
          const answer = await req.argus.fetch('/currentuser/v1/user?include=secret-query');
          res.status(answer.status).json(await answer.json());
        } catch (error) {
          next(error);
        }
      });
    },
  });
}

/** A finished span as an operator reads it: name, kind, parent's name, status, attributes. */
interface Seen {
  name: string;
  kind: string;
  parent: string | undefined;
  status: string;
  attributes: Record<string, unknown>;
}

function spans(): Seen[] {
  const finished = exporter.getFinishedSpans();
  const byId = new Map(finished.map((span) => [span.spanContext().spanId, span]));
  return finished.map((span: ReadableSpan) => ({
    name: span.name,
    kind: api.SpanKind[span.kind],
    parent: byId.get(span.parentSpanContext?.spanId ?? '')?.name,
    status:
      span.status.code === api.SpanStatusCode.ERROR ? `error: ${span.status.message}` : 'unset',
    attributes: { ...span.attributes },
  }));
}

function only(name: string): Seen {
  const found = spans().filter((span) => span.name === name);
  expect(found, name).toHaveLength(1);
  return found[0] as Seen;
}

describe('otelSpans(api)', () => {
  it('shows a login over real HTTP as a login span with the code exchange and the profile request inside it', async () => {
    await start();
    await app.login();

    expect(spans().map((span) => [span.name, span.kind, span.parent])).toEqual([
      ['argus token exchange', 'CLIENT', 'argus login'],
      ['argus profile', 'CLIENT', 'argus login'],
      ['argus login', 'INTERNAL', undefined],
    ]);
    const traceIds = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    expect(only('argus login')).toMatchObject({
      status: 'unset',
      attributes: { 'argus.outcome': 'success', 'argus.duration_ms': expect.any(Number) },
    });
    expect(only('argus token exchange').attributes).toEqual({
      'argus.purpose': 'token exchange',
      'http.request.method': 'POST',
      'url.path': '/authentication/v1/oauth/token',
      'http.response.status_code': 200,
      'argus.outcome': 'success',
      'argus.duration_ms': expect.any(Number),
    });
    expect(only('argus profile').attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/currentuser/v1/user',
      'http.response.status_code': 200,
      'argus.outcome': 'success',
    });
  });

  it('shows a refresh as a refresh span that says it went to Argus and how long it waited', async () => {
    await start();
    const { browser } = await app.login();
    exporter.reset();
    advance(250_000);
    expect((await browser.request(`${app.url}/app/me`, json)).status).toBe(200);

    const refresh = only('argus refresh');
    expect(refresh).toMatchObject({ kind: 'INTERNAL', parent: undefined, status: 'unset' });
    expect(refresh.attributes).toEqual({
      'argus.outcome': 'success',
      'argus.source': 'argus',
      'http.response.status_code': 200,
      'argus.wait_ms': expect.any(Number),
      'argus.duration_ms': expect.any(Number),
    });
    expect(refresh.attributes['argus.wait_ms']).toBeLessThanOrEqual(
      refresh.attributes['argus.duration_ms'] as number,
    );
  });

  it('shows req.argus.fetch as a fetch span with the path but not the query', async () => {
    await start();
    const { browser } = await app.login();
    exporter.reset();
    expect((await browser.request(`${app.url}/app/search`, json)).status).toBe(200);
    // The query went to Argus; the span keeps the path only.
    expect(app.emulator.requestsTo('currentuser').at(-1)?.query).toContain('secret-query');

    expect(only('argus fetch')).toEqual({
      name: 'argus fetch',
      kind: 'CLIENT',
      parent: undefined,
      status: 'unset',
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/currentuser/v1/user',
        'http.response.status_code': 200,
        'argus.retried': false,
        'argus.outcome': 'success',
        'argus.duration_ms': expect.any(Number),
      },
    });
  });

  it('puts the refresh that a 401 forces inside the fetch span, which says it retried', async () => {
    await start();
    const { browser } = await app.login();
    exporter.reset();
    app.emulator.failNext('currentuser', { status: 401 });
    expect((await browser.request(`${app.url}/app/search`, json)).status).toBe(200);

    expect(spans().map((span) => [span.name, span.parent])).toEqual([
      ['argus refresh', 'argus fetch'],
      ['argus fetch', undefined],
    ]);
    expect(only('argus fetch').attributes).toMatchObject({
      'argus.retried': true,
      'http.response.status_code': 200,
    });
  });

  it('shows a logout as a logout span that says the Argus session was ended', async () => {
    await start();
    const { browser } = await app.login();
    exporter.reset();
    expect((await browser.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);

    expect(only('argus logout')).toMatchObject({
      kind: 'INTERNAL',
      status: 'unset',
      attributes: {
        'argus.reason': 'user',
        'argus.session': 'ended',
        'argus.outcome': 'success',
      },
    });
  });

  it('marks a code exchange that Argus rejects, and its login, as errors', async () => {
    await start();
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    app.emulator.failNext('token', {
      status: 400,
      contentType: 'application/json',
      body: '{"error":"invalid_grant"}',
    });
    expect((await browser.request(callback.href)).status).toBe(302);

    expect(only('argus token exchange')).toMatchObject({
      parent: 'argus login',
      status: 'error: ARGUS_REJECTED',
      attributes: {
        'argus.outcome': 'rejected',
        'error.type': 'ARGUS_REJECTED',
        'http.response.status_code': 400,
      },
    });
    expect(only('argus login')).toMatchObject({
      status: 'error: ARGUS_REJECTED',
      attributes: {
        'argus.outcome': 'rejected',
        'argus.reason': 'exchange-failed',
        'error.type': 'ARGUS_REJECTED',
      },
    });
    expect(spans().map((span) => span.name)).not.toContain('argus profile');
  });

  it('marks a login whose exchange timed out as unavailable, with the error thrown', async () => {
    app = await startTestApp({ strategy: { timeout: 300 } });
    const browser = new Browser();
    const callback = await callbackFor(app, browser);
    app.emulator.failNext('token', { hang: true });
    expect((await browser.request(callback.href)).status).toBe(503);

    expect(only('argus token exchange')).toMatchObject({
      status: 'error: ARGUS_TIMEOUT',
      attributes: { 'argus.outcome': 'unavailable', 'error.type': 'ARGUS_TIMEOUT' },
    });
    expect(only('argus token exchange').attributes).not.toHaveProperty('http.response.status_code');
    expect(only('argus login').attributes).toMatchObject({
      'argus.outcome': 'unavailable',
      'argus.reason': 'exchange-failed',
    });
  });

  it('lets a login through when the tracer throws', async () => {
    unsubscribe();
    const broken = {
      startSpan(): never {
        throw new Error('the exporter is misconfigured');
      },
    };
    unsubscribe = otelSpans(api, { tracer: broken });
    await start();
    const { landing } = await app.login();
    expect(landing.url).toBe(`${app.url}/`);
    expect(landing.body).toBe('home of alice');
  });

  it('stops making spans once unsubscribed, and leaves the channels without subscribers', async () => {
    await start();
    unsubscribe();
    await app.login();
    expect(exporter.getFinishedSpans()).toEqual([]);
    for (const name of Object.values(ArgusTraceChannel)) {
      expect(tracingChannel(name).hasSubscribers, name).toBe(false);
    }
  });
});
