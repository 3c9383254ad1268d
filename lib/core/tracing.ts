/**
 * Tracing on `node:diagnostics_channel`: one tracing channel per piece of work an operator
 * wants to see in a trace (a login callback, the code exchange, the profile request, a
 * refresh, a logout, an Argus API call), for APM agents and for `passport-argus/otel`.
 *
 * Nothing here costs anything until something subscribes: every call site checks
 * `hasSubscribers` first and builds no context, takes no time stamp and wraps nothing
 * otherwise. The guard's fresh-token path has no tracing at all.
 *
 * A context object holds only what is safe to put in a trace: what the call was for, the
 * method and the path without its query, Argus's status, the outcome, durations and an
 * error code. Never a token, code, verifier, secret, session id or full URL.
 */
import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import { ArgusErrorCode, isArgusError, isRejection, isUnavailable } from './errors.ts';
import type { ArgusSessionOutcome, LoginFailureReason, LogoutReason } from './events.ts';

/**
 * The names of passport-argus's tracing channels, for
 * `diagnostics_channel.tracingChannel(name)`. Each publishes `start`, `end`, `asyncStart`,
 * `asyncEnd` and `error` with one context object per traced call, which is filled in
 * (`outcome`, `durationMs`, ...) by the time `asyncEnd` is published.
 *
 * @example
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * tracingChannel(ArgusTraceChannel.REFRESH).subscribe({
 *   start() {}, end() {}, asyncStart() {}, error() {},
 *   asyncEnd(context) { console.log('refresh', context.outcome, context.waitMs); },
 * });
 * ```
 */
export const ArgusTraceChannel = {
  /** A login callback as a whole, from the callback request to passport's verdict: {@link LoginTraceContext}. */
  LOGIN: 'passport-argus:login',
  /** The code exchange at the token endpoint: {@link ArgusCallTraceContext}. */
  EXCHANGE: 'passport-argus:exchange',
  /** The profile request after the exchange: {@link ArgusCallTraceContext}. */
  PROFILE: 'passport-argus:profile',
  /** One request's refresh, waits for the lock or another instance included: {@link RefreshTraceContext}. */
  REFRESH: 'passport-argus:refresh',
  /** A logout, by the user or because Argus said no: {@link LogoutTraceContext}. */
  LOGOUT: 'passport-argus:logout',
  /** `req.argus.fetch()` (and `json()`), its refresh and retry on a 401 included: {@link FetchTraceContext}. */
  FETCH: 'passport-argus:fetch',
} as const;

/** The union of the tracing channel names. */
export type ArgusTraceChannel = (typeof ArgusTraceChannel)[keyof typeof ArgusTraceChannel];

/**
 * How a traced piece of work ended. `'success'`, and for a login callback `'landing'` (an
 * earlier login's callback after the user logged in) or `'duplicate'` (a copy of a
 * callback whose first copy logged the user in), are fine; the others are failures:
 * `'refused'` (the browser's request was refused), `'rejected'` (Argus said no),
 * `'unavailable'` (Argus or the coordination store could not answer), `'ended'` (the
 * session had been logged out meanwhile) and `'failed'` (anything else).
 */
export type TraceOutcome =
  | 'success'
  | 'landing'
  | 'duplicate'
  | 'refused'
  | 'rejected'
  | 'unavailable'
  | 'ended'
  | 'failed';

/** The fields every context object has once its work has ended. */
export interface TraceContext {
  /** How the work ended. */
  outcome?: TraceOutcome;
  /** How long the work took, in milliseconds (monotonic clock). */
  durationMs?: number;
  /** The `ArgusError` code, when the work failed with one. */
  errorCode?: string;
  /**
   * Set by `diagnostics_channel` itself on the `error` event: the error the work threw
   * (an `ArgusError` for anything Argus did; its message never holds a secret).
   */
  error?: unknown;
}

/** The context of {@link ArgusTraceChannel.LOGIN}. */
export interface LoginTraceContext extends TraceContext {
  /** Why no one was logged in, when the outcome is a failure. */
  reason?: LoginFailureReason;
}

/** The context of {@link ArgusTraceChannel.EXCHANGE} and {@link ArgusTraceChannel.PROFILE}. */
export interface ArgusCallTraceContext extends TraceContext {
  /** What the call is for: `'token exchange'` or `'profile request'`. */
  purpose: string;
  /** The HTTP method. */
  method: string;
  /** The path called at Argus, without a query. */
  path: string;
  /** Argus's HTTP status, when it answered. */
  status?: number;
}

/** The context of {@link ArgusTraceChannel.REFRESH}. */
export interface RefreshTraceContext extends TraceContext {
  /**
   * Where the new token set came from: `'argus'` (this request refreshed with Argus),
   * `'shared'` (it joined a refresh of the same set under way in this process) or
   * `'found'` (another request or instance had already refreshed that set).
   */
  source?: 'argus' | 'shared' | 'found';
  /**
   * Milliseconds spent before this request called Argus or got the new set from
   * elsewhere: waiting for the lock, for another instance, or for the refresh it joined.
   */
  waitMs?: number;
  /** Argus's HTTP status, when this request called Argus and it answered. */
  status?: number;
}

/** The context of {@link ArgusTraceChannel.LOGOUT}. */
export interface LogoutTraceContext extends TraceContext {
  /** Why the user is logged out. */
  reason: LogoutReason;
  /** What became of the Argus session. */
  argusSession?: ArgusSessionOutcome;
}

/** The context of {@link ArgusTraceChannel.FETCH}. */
export interface FetchTraceContext extends TraceContext {
  /** The HTTP method. */
  method: string;
  /** The API path, without its query (the query is the app's data). */
  path: string;
  /** The status of the answer handed to the app. */
  status?: number;
  /** True when Argus answered 401, the token was refreshed and the call sent again. */
  retried: boolean;
}

/** The channels themselves. Made once: `tracingChannel()` per call would allocate. */
export const channels = {
  login: tracingChannel<unknown, LoginTraceContext>(ArgusTraceChannel.LOGIN),
  exchange: tracingChannel<unknown, ArgusCallTraceContext>(ArgusTraceChannel.EXCHANGE),
  profile: tracingChannel<unknown, ArgusCallTraceContext>(ArgusTraceChannel.PROFILE),
  refresh: tracingChannel<unknown, RefreshTraceContext>(ArgusTraceChannel.REFRESH),
  logout: tracingChannel<unknown, LogoutTraceContext>(ArgusTraceChannel.LOGOUT),
  fetch: tracingChannel<unknown, FetchTraceContext>(ArgusTraceChannel.FETCH),
};

/**
 * Runs `work` traced on `channel`: `start` before it, `asyncEnd` after it with `context`
 * filled in: `outcome`, `durationMs`, `errorCode`, then what `settle` reads from the result
 * or the error. Call it only once `channel.hasSubscribers` said yes; building `context` is
 * the cost that check saves.
 */
export async function traced<C extends TraceContext, T>(
  channel: TracingChannel<unknown, C>,
  context: C,
  work: () => Promise<T>,
  settle?: (context: C, value: T | undefined, error?: unknown) => void,
): Promise<T> {
  const started = performance.now();
  let value: T | undefined;
  // tracePromise keeps the resolved value on the context as `result`. Here that value can
  // be a token set or a Response, so the traced function resolves with nothing.
  await channel.tracePromise(async () => {
    try {
      value = await work();
    } catch (error) {
      context.durationMs = performance.now() - started;
      context.outcome ??= outcomeOf(error);
      if (isArgusError(error)) context.errorCode ??= error.code;
      settle?.(context, undefined, error);
      throw error;
    }
    context.durationMs = performance.now() - started;
    context.outcome ??= 'success';
    settle?.(context, value);
  }, context);
  return value as T;
}

/**
 * A `settle` for one call to Argus whose answer is read only with status 200 (the token
 * endpoint's, the profile's): 200 once it succeeded, else the status Argus answered.
 */
export function argusCallStatus(
  context: { status?: number },
  _value: unknown,
  error?: unknown,
): void {
  context.status = error === undefined ? 200 : argusStatusOf(error);
}

/** The status Argus answered with, for an error made of its answer. */
export function argusStatusOf(error: unknown): number | undefined {
  return isArgusError(error) ? error.argusStatus : undefined;
}

/**
 * Completes a refresh's trace: a request that joined a refresh under way waited all along;
 * one that neither called Argus nor joined found the new set elsewhere.
 */
export function settleRefresh(
  context: RefreshTraceContext,
  _value: unknown,
  error?: unknown,
): void {
  if (context.source === 'shared') context.waitMs = context.durationMs;
  if (error === undefined) context.source ??= 'found';
  else if (context.source === 'argus') context.status ??= argusStatusOf(error);
}

/** The outcome word for a failure with `error`. */
export function outcomeOf(error: unknown): TraceOutcome {
  if (isRejection(error)) return 'rejected';
  if (isUnavailable(error)) return 'unavailable';
  if (isArgusError(error) && error.code === ArgusErrorCode.SESSION_EXPIRED) return 'ended';
  return 'failed';
}
