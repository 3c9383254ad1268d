/**
 * `passport-argus/otel`: OpenTelemetry spans from passport-argus's tracing channels. It
 * needs no OpenTelemetry package of its own: pass in the app's `@opentelemetry/api`.
 *
 * @packageDocumentation
 */
export type { OtelApi, OtelContext, OtelSpan, OtelSpansOptions, OtelTracer } from './spans.ts';
export { otelSpans } from './spans.ts';
