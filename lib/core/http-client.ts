/**
 * The one HTTP layer for every call to Argus: token, refresh, profile, logout and API
 * calls all go through {@link callArgus}. It bounds each call in time and size, never
 * follows a redirect, and turns every failure into a typed {@link ArgusError}.
 *
 * It uses `node:http` and `node:https`, with Node.js's keep-alive global agents unless the
 * app passes its own (the `agent` option). The login benchmark measured it against
 * undici's `request`, which had replaced the platform's `fetch` here at a third of its CPU
 * per call, and found it cheaper again; and it needs no dependency.
 */
import {
  type Agent,
  type ClientRequest,
  type IncomingMessage,
  request as httpRequest,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ArgusError, ArgusErrorCode } from './errors.ts';
import { log } from './log.ts';

/** One call to Argus. */
export interface ArgusCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  url: URL;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Milliseconds for the whole exchange, body included. */
  timeout: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** The end user's IP, sent in `X-Forwarded-For`. */
  clientIp?: string | undefined;
  /** What the call is for, for log lines and error messages ("token exchange"). */
  purpose: string;
  /**
   * The connection agent (a proxy agent, say). Default: Node.js's global agent of the
   * URL's scheme, which keeps connections alive.
   */
  agent?: Agent | undefined;
}

/** Argus's answer headers: lower-case names, repeated ones as arrays. */
export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** Argus's answer, read whole. */
export interface ArgusAnswer {
  status: number;
  headers: AnswerHeaders;
  body: Uint8Array;
}

const USER_AGENT = 'passport-argus';

/**
 * Sends one call to Argus and reads the whole answer.
 *
 * Throws `ARGUS_TIMEOUT` past `timeout` (the body read included, so a body that never
 * ends is cut off too), `ARGUS_NETWORK` when the connection fails, `ARGUS_REDIRECT` for any
 * 3xx (following one could carry the bearer token to another host), and
 * `ARGUS_RESPONSE_TOO_LARGE` past `maxBytes`. HTTP error statuses are returned, not thrown:
 * the caller knows what they mean for its call.
 */
export function callArgus(call: ArgusCall): Promise<ArgusAnswer> {
  return new Promise((resolve, reject) => exchange(call, resolve, reject));
}

/** The state of one exchange under way: settled once, by its answer or its first failure. */
interface Exchange {
  readonly call: ArgusCall;
  readonly reject: (error: ArgusError) => void;
  settled: boolean;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  request: ClientRequest | undefined;
}

/**
 * Settles `ex` with `error`, unless it is settled already. A module function over the
 * exchange's state rather than a closure per call (see CONTRIBUTING.md, Code).
 */
function fail(ex: Exchange, error: ArgusError): void {
  if (ex.settled) return;
  ex.settled = true;
  clearTimeout(ex.timer);
  // After a response, destroying the request destroys its socket, and the answer with it.
  ex.request?.destroy();
  ex.reject(error);
}

/**
 * One exchange, settled once: by the whole answer, or by the first failure of the request,
 * the answer or the timer. The connection is destroyed on every failure, so that nothing
 * of an abandoned answer is left to read on it and it never goes back to the pool.
 */
function exchange(
  call: ArgusCall,
  resolve: (answer: ArgusAnswer) => void,
  reject: (error: ArgusError) => void,
): void {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...call.headers };
  if (call.clientIp) headers['x-forwarded-for'] = call.clientIp;
  const started = Date.now();
  const { url } = call;
  const secure = url.protocol === 'https:';
  const ex: Exchange = {
    call,
    reject,
    settled: false,
    timedOut: false,
    timer: undefined,
    request: undefined,
  };
  // The timer phase runs before the event loop reads the network: on a busy process, an
  // answer already waiting in the socket would be dropped by the abort. Under refresh-token
  // rotation that answer is the only copy of the new refresh token, so the abort waits one
  // turn (setImmediate runs after the I/O poll) and lets an answer that has arrived win.
  ex.timer = setTimeout(() => {
    setImmediate(() => {
      if (ex.settled) return;
      ex.timedOut = true;
      fail(ex, transportError(undefined, call, true));
    });
  }, call.timeout);
  let request: ClientRequest;
  try {
    // node:http never follows a redirect by itself. Options rather than the URL: Node.js
    // would convert the URL to the same options on every call, and merge them with these.
    request = (secure ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      // An IPv6 literal comes bracketed in a URL, and without brackets here.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: call.method,
      headers,
      // Undefined: Node.js's global agent, which keeps connections alive (since Node.js
      // 19) and is the one an app configures for the whole process (a proxy, say).
      agent: call.agent,
    });
  } catch (error) {
    // Nothing was sent: a header value Node.js refuses (a line break in it, say), or an
    // agent of the other scheme.
    fail(ex, setupError(error, call));
    return;
  }
  ex.request = request;
  // Every failure after a destroy arrives here too; it must find a listener, or it would
  // crash the process.
  request.on('error', (error) => fail(ex, transportError(error, call, ex.timedOut)));
  request.on('response', (response: IncomingMessage) => {
    response.on('error', (error) => fail(ex, transportError(error, call, ex.timedOut)));
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400) {
      fail(
        ex,
        new ArgusError(
          ArgusErrorCode.REDIRECT,
          `Argus answered the ${call.purpose} with a redirect (${status}); passport-argus never follows redirects from Argus`,
          { argusStatus: status },
        ),
      );
      return;
    }
    const declared = Number(response.headers['content-length']);
    if (declared > call.maxBytes) {
      fail(ex, tooLarge(call));
      return;
    }
    // Stream events, not async iteration: the login benchmark measured the difference.
    const chunks: Buffer[] = [];
    let total = 0;
    response.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > call.maxBytes) {
        fail(ex, tooLarge(call));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => {
      if (ex.settled) return;
      ex.settled = true;
      clearTimeout(ex.timer);
      logCall(call, status, started);
      resolve({
        status,
        headers: response.headers,
        body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total),
      });
    });
    // A connection closed before the body's end ("aborted"): a truncated answer.
    response.on('close', () => {
      if (!response.complete) fail(ex, transportError(undefined, call, ex.timedOut));
    });
  });
  request.end(call.body);
}

function logCall(call: ArgusCall, status: number, started: number): void {
  if (!log.http.enabled) return;
  // An API call's purpose names its method and path already ("API call GET /x"): say them
  // once. Other calls ("token exchange") get them added.
  const what = call.purpose.includes(`${call.method} /`)
    ? call.purpose
    : `${call.purpose} ${call.method} ${call.url.pathname}`;
  log.http('%s -> %d in %dms', what, status, Date.now() - started);
}

function tooLarge(call: ArgusCall): ArgusError {
  return new ArgusError(
    ArgusErrorCode.RESPONSE_TOO_LARGE,
    `Argus answered the ${call.purpose} with more than ${call.maxBytes} bytes`,
  );
}

function setupError(error: unknown, call: ArgusCall): ArgusError {
  if ((error as { code?: unknown } | null)?.code === 'ERR_INVALID_PROTOCOL') {
    return new ArgusError(
      ArgusErrorCode.MISCONFIGURED,
      `The "agent" option is an agent of another scheme than ${call.url.protocol}//${call.url.host}: use an https.Agent (or a proxy agent) for an https URL`,
      { cause: error },
    );
  }
  return transportError(error, call, false);
}

function transportError(error: unknown, call: ArgusCall, timedOut: boolean): ArgusError {
  if (timedOut) {
    return new ArgusError(
      ArgusErrorCode.TIMEOUT,
      `Argus did not answer the ${call.purpose} within ${call.timeout} ms`,
      error === undefined ? {} : { cause: error },
    );
  }
  return new ArgusError(
    ArgusErrorCode.NETWORK,
    `Argus could not be reached for the ${call.purpose}`,
    {
      status: 503,
      ...(error === undefined ? {} : { cause: error }),
    },
  );
}

const decoder = new TextDecoder();

/**
 * Parses Argus's answer as JSON, strictly: anything else is `ARGUS_BAD_RESPONSE`.
 * The raw text is kept off the message, since it could hold a token.
 */
export function parseJson(answer: ArgusAnswer, purpose: string): unknown {
  try {
    return JSON.parse(decoder.decode(answer.body));
  } catch {
    // No cause: JSON.parse's message quotes the text it choked on, which could be a token.
    throw new ArgusError(
      ArgusErrorCode.BAD_RESPONSE,
      `Argus answered the ${purpose} with a body that is not JSON (status ${answer.status})`,
      { argusStatus: answer.status },
    );
  }
}

/** Parses without throwing; `undefined` when the body is not JSON. */
export function tryParseJson(answer: ArgusAnswer): unknown {
  try {
    return JSON.parse(decoder.decode(answer.body));
  } catch {
    return undefined;
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns an Argus error answer into a typed error: a 401, a 403, or a 400 carrying an
 * OAuth `error` is a rejection (`ARGUS_REJECTED`, or `ARGUS_CLIENT_REJECTED` for
 * `invalid_client`); anything else is `ARGUS_HTTP`, which callers treat as Argus being
 * unavailable.
 *
 * @see RFC 6749 §5.2
 */
export function errorFromAnswer(answer: ArgusAnswer, purpose: string): ArgusError {
  const json = tryParseJson(answer);
  const oauthError =
    isJsonObject(json) && typeof json.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(json.error)
      ? json.error
      : undefined;
  const status = answer.status;
  if (oauthError === 'invalid_client') {
    return new ArgusError(
      ArgusErrorCode.CLIENT_REJECTED,
      `Argus refused this application's client credentials during the ${purpose} (invalid_client)`,
      { argusStatus: status, oauthError, response: json, status: 502 },
    );
  }
  if (status === 401 || status === 403 || (status === 400 && oauthError !== undefined)) {
    return new ArgusError(
      ArgusErrorCode.REJECTED,
      `Argus rejected the ${purpose} (${oauthError ?? status})`,
      { argusStatus: status, oauthError, response: json },
    );
  }
  return new ArgusError(
    ArgusErrorCode.HTTP,
    `Argus answered the ${purpose} with status ${status}`,
    { argusStatus: status, response: json, status: status >= 500 ? 503 : 502 },
  );
}

/**
 * Unwraps the Argus envelope (`{responseCode, messages, data, ...}`) and returns `data`.
 * A body without the envelope is `ARGUS_BAD_RESPONSE`.
 */
export function unwrapEnvelope(value: unknown, purpose: string, status: number): unknown {
  if (isJsonObject(value) && 'data' in value && 'responseCode' in value) return value.data;
  throw new ArgusError(
    ArgusErrorCode.BAD_RESPONSE,
    `Argus answered the ${purpose} without its response envelope`,
    { argusStatus: status },
  );
}
