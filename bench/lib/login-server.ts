/**
 * The server process of the login-throughput benchmark: the ArgusStrategy app and the
 * bare passport-oauth2 apps (with and without a profile call, and with the profile call,
 * PKCE and the no-store headers), each on its own server.
 * Started with use-undici.ts, the same process runs passport-argus on its previous HTTP
 * layer instead (undici's `request`).
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { request } from 'node:http';
import * as otel from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { callArgus } from '../../lib/core/http-client.ts';
import { ArgusTraceChannel, channels, traced } from '../../lib/core/tracing.ts';
import { otelSpans } from '../../lib/otel/spans.ts';
import { argusApp, bareApp, type Listening, listen } from './apps.ts';
import { serve } from './process.ts';

/**
 * Who subscribes to passport-argus's tracing channels: nobody, subscribers that do
 * nothing (the cost of the channels alone), or `otelSpans` with the OpenTelemetry SDK.
 */
export type TraceMode = 'off' | 'channels' | 'otel';

let untrace: (() => void) | undefined;

function setTrace(mode: TraceMode): void {
  untrace?.();
  untrace =
    mode === 'channels' ? subscribeChannels() : mode === 'otel' ? subscribeOtel() : undefined;
}

/** Subscribes handlers that do nothing to every channel: what publishing alone costs. */
function subscribeChannels(): () => void {
  const noop = () => undefined;
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const channels = Object.values(ArgusTraceChannel).map((name) => tracingChannel(name));
  for (const channel of channels) channel.subscribe(handlers);
  return () => {
    for (const channel of channels) channel.unsubscribe(handlers);
  };
}

/** otelSpans with the SDK, each span handed to an exporter that drops it. */
function subscribeOtel(): () => void {
  const exporter = {
    // 0 is ExportResultCode.SUCCESS.
    export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => undefined,
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return otelSpans(otel, { tracer: provider.getTracer('bench') });
}

/** The apps of this process, by name. */
export type LoginApp = 'argus' | 'bareProfile' | 'bareNoProfile' | 'bareSecured';

const servers = new Map<LoginApp, Listening>();

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A POST through passport-argus's own client: a timeout, a capped body read, typed errors. */
async function viaArgusClient(url: string, body: string): Promise<void> {
  await callArgus({
    method: 'POST',
    url: new URL(url),
    headers: FORM,
    body,
    timeout: 10_000,
    maxBytes: 1_000_000,
    purpose: 'benchmark call',
  });
}

/** A POST the way passport-oauth2 (through the oauth package) calls a provider: node:http. */
function viaHttp(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request(url, { method: 'POST', headers: FORM }, (response) => {
      response.on('data', () => undefined);
      response.on('end', resolve);
    });
    call.on('error', reject);
    call.end(body);
  });
}

serve({
  /** Listens for the apps `names`, and answers each one's origin and callback URL. */
  async listen(
    names: readonly LoginApp[],
  ): Promise<Partial<Record<LoginApp, { url: string; callbackURL: string }>>> {
    const out: Partial<Record<LoginApp, { url: string; callbackURL: string }>> = {};
    for (const name of names) {
      const server = await listen();
      servers.set(name, server);
      out[name] = { url: server.url, callbackURL: server.callbackURL };
    }
    return out;
  },
  /** Builds the apps against the emulator at `emulatorURL`. */
  build(emulatorURL: string) {
    for (const [name, server] of servers) {
      const { callbackURL } = server;
      if (name === 'argus') server.mount(argusApp({ emulatorURL, callbackURL }).app);
      else
        server.mount(
          bareApp({
            emulatorURL,
            callbackURL,
            profile: name !== 'bareNoProfile',
            secured: name === 'bareSecured',
          }),
        );
    }
  },
  /**
   * CPU time of this process per POST to `url`, in µs, `count` calls one after another,
   * after as many to warm up: through passport-argus's client (`'client'`), or straight
   * through node:http as passport-oauth2 calls (`'http'`).
   */
  async clientCost(how: 'client' | 'http', url: string, body: string, count: number) {
    const call = how === 'client' ? viaArgusClient : viaHttp;
    for (let i = 0; i < count; i++) await call(url, body);
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) await call(url, body);
    const { user, system } = process.cpuUsage(before);
    return (user + system) / count;
  },
  /** Sets who subscribes to the tracing channels from now on. */
  trace(mode: TraceMode) {
    setTrace(mode);
  },
  /**
   * CPU time of this process per traced call, in µs, with `mode`'s subscribers: a call
   * site as passport-argus writes it (the check, then the context and the trace) around
   * work that costs nothing, `count` calls one after another, after a warm-up. `'bare'`:
   * the work alone, without the call site.
   */
  async traceCost(mode: TraceMode | 'bare', count: number) {
    setTrace(mode === 'bare' ? 'off' : mode);
    const work = () => Promise.resolve();
    const site = () =>
      channels.fetch.hasSubscribers
        ? traced(channels.fetch, { method: 'GET', path: '/x', retried: false }, work)
        : work();
    const call = mode === 'bare' ? work : site;
    const cost = async () => {
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) await call();
      const { user, system } = process.cpuUsage(before);
      return (user + system) / count;
    };
    await cost();
    const result = await cost();
    setTrace('off');
    return result;
  },
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
