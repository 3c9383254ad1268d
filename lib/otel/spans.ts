/**
 * OpenTelemetry spans from passport-argus's tracing channels, without a dependency on
 * `@opentelemetry/api`: the app passes its own copy of the API in, so there is exactly one
 * in the process, the one its SDK registered.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { ArgusTraceChannel, type TraceContext } from '../core/tracing.ts';

/** The OpenTelemetry `Context`, which passport-argus only passes along. */
export interface OtelContext {
  /** The value stored under `key`. */
  getValue(key: symbol): unknown;
  /** A copy of this context with `key` set to `value`. */
  setValue(key: symbol, value: unknown): OtelContext;
  /** A copy of this context without `key`. */
  deleteValue(key: symbol): OtelContext;
}

/** The parts of an OpenTelemetry `Span` that {@link otelSpans} calls. */
export interface OtelSpan {
  /** Sets one attribute. */
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** Sets the span's status. */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Ends the span now. */
  end(): void;
}

/** The parts of an OpenTelemetry `Tracer` that {@link otelSpans} calls. */
export interface OtelTracer {
  /** Starts a span under the span of `context`. */
  startSpan(
    name: string,
    options: { kind: number; attributes: Record<string, string | number | boolean> },
    context: OtelContext,
  ): OtelSpan;
}

/**
 * The parts of `@opentelemetry/api` that {@link otelSpans} uses: pass the module itself
 * (`import * as api from '@opentelemetry/api'`).
 */
export interface OtelApi {
  /** `api.trace`. */
  trace: {
    /** Returns a tracer of the registered provider. */
    getTracer(name: string, version?: string): OtelTracer;
    /** Returns `context` with `span` as its active span. */
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
  };
  /** `api.context`. */
  context: {
    /** The active context (the incoming request's span, with an HTTP instrumentation). */
    active(): OtelContext;
  };
  /** `api.SpanKind`. */
  SpanKind: { INTERNAL: number; CLIENT: number };
  /** `api.SpanStatusCode`. */
  SpanStatusCode: { ERROR: number };
}

/** Options of {@link otelSpans}. */
export interface OtelSpansOptions {
  /** The tracer to make spans with. Default: `api.trace.getTracer('passport-argus')`. */
  tracer?: OtelTracer;
}

/** Span names, by channel: few and fixed, as span names should be. */
const SPAN_NAMES: Record<ArgusTraceChannel, string> = {
  [ArgusTraceChannel.LOGIN]: 'argus login',
  [ArgusTraceChannel.EXCHANGE]: 'argus token exchange',
  [ArgusTraceChannel.PROFILE]: 'argus profile',
  [ArgusTraceChannel.REFRESH]: 'argus refresh',
  [ArgusTraceChannel.LOGOUT]: 'argus logout',
  [ArgusTraceChannel.FETCH]: 'argus fetch',
};

/** Channels whose work is one call to Argus: client spans. */
const CLIENT_CHANNELS = new Set<string>([
  ArgusTraceChannel.EXCHANGE,
  ArgusTraceChannel.PROFILE,
  ArgusTraceChannel.FETCH,
]);

/**
 * The context fields that become attributes, and their names: OpenTelemetry's semantic
 * conventions where one fits, `argus.*` otherwise. A field not listed here never reaches a
 * span, whatever a later version puts in a context.
 */
const ATTRIBUTES: Record<string, string> = {
  method: 'http.request.method',
  path: 'url.path',
  status: 'http.response.status_code',
  errorCode: 'error.type',
  purpose: 'argus.purpose',
  outcome: 'argus.outcome',
  reason: 'argus.reason',
  source: 'argus.source',
  retried: 'argus.retried',
  argusSession: 'argus.session',
  durationMs: 'argus.duration_ms',
  waitMs: 'argus.wait_ms',
};

/** Outcomes that make a span's status an error (see `TraceOutcome`). */
const FAILURES = new Set(['refused', 'rejected', 'unavailable', 'ended', 'failed']);

/**
 * Turns passport-argus's tracing channels into OpenTelemetry spans: `argus login` with
 * `argus token exchange` and `argus profile` inside it, `argus refresh`, `argus logout`
 * and `argus fetch` (with the refresh it may need inside it). Each span is a child of the
 * active context where the work began (the request's span, with an HTTP instrumentation)
 * or of the passport-argus span it runs in, and carries the context's safe fields as
 * attributes. A failed outcome or a thrown error sets the status to error, with the error
 * code (or the outcome) as its message. Returns a function that unsubscribes.
 *
 * @example
 * ```ts
 * import * as api from '@opentelemetry/api';
 * import { otelSpans } from 'passport-argus/otel';
 * otelSpans(api);
 * ```
 */
export function otelSpans(api: OtelApi, options: OtelSpansOptions = {}): () => void {
  const tracer = options.tracer ?? api.trace.getTracer('passport-argus');
  const error = api.SpanStatusCode.ERROR;
  // The OpenTelemetry context of the passport-argus span under way, for the spans inside it.
  const current = new AsyncLocalStorage<OtelContext>();
  const spans = new WeakMap<object, OtelSpan>();
  const undo: (() => void)[] = [];
  for (const name of Object.values(ArgusTraceChannel)) {
    const channel = tracingChannel<OtelContext, TraceContext>(name);
    const kind = CLIENT_CHANNELS.has(name) ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL;
    // Runs as the traced work starts; what it returns is the store of the work's own
    // async context. Never throws: a tracer's failure must not fail the user's request.
    const enter = (context: TraceContext): OtelContext => {
      const parent = current.getStore() ?? api.context.active();
      try {
        const span = tracer.startSpan(SPAN_NAMES[name], { kind, attributes: {} }, parent);
        spans.set(context, span);
        return api.trace.setSpan(parent, span);
      } catch {
        return parent;
      }
    };
    const handlers = {
      start() {},
      end() {},
      asyncStart() {},
      error(context: TraceContext) {
        const span = spans.get(context);
        const code = (context.error as { code?: unknown } | undefined)?.code;
        try {
          span?.setStatus({ code: error, message: typeof code === 'string' ? code : 'error' });
        } catch {}
      },
      asyncEnd(context: TraceContext) {
        const span = spans.get(context);
        if (span === undefined) return;
        spans.delete(context);
        try {
          for (const [field, attribute] of Object.entries(ATTRIBUTES)) {
            const value = (context as Record<string, unknown>)[field];
            if (['string', 'number', 'boolean'].includes(typeof value)) {
              span.setAttribute(attribute, value as string | number | boolean);
            }
          }
          if (context.error === undefined && FAILURES.has(context.outcome ?? '')) {
            span.setStatus({ code: error, message: context.errorCode ?? context.outcome });
          }
          span.end();
        } catch {}
      },
    };
    channel.start.bindStore(current, enter);
    channel.subscribe(handlers);
    undo.push(() => {
      channel.unsubscribe(handlers);
      channel.start.unbindStore(current);
    });
  }
  return () => {
    for (const step of undo.splice(0)) step();
  };
}
