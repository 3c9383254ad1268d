/**
 * The one HTTP layer for every call to Argus: token, refresh, profile, logout and API
 * calls all go through {@link callArgus}. It bounds each call in time and size, never
 * follows a redirect, and turns every failure into a typed {@link ArgusError}.
 *
 * It uses undici's `request` rather than the platform's `fetch`: the same HTTP client
 * underneath, without the WHATWG stream layers, which cost about three times the CPU per
 * call (the login benchmark measured it).
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
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

type Body = Readable;

/**
 * Sends one call to Argus and reads the whole answer.
 *
 * Throws `ARGUS_TIMEOUT` past `timeout` (the body read included, so a body that never
 * ends is cut off too), `ARGUS_NETWORK` when the connection fails, `ARGUS_REDIRECT` for any
 * 3xx (following one could carry the bearer token to another host), and
 * `ARGUS_RESPONSE_TOO_LARGE` past `maxBytes`. HTTP error statuses are returned, not thrown:
 * the caller knows what they mean for its call.
 */
export async function callArgus(call: ArgusCall): Promise<ArgusAnswer> {
  // A controller and a timer cleared at the end cost less than AbortSignal.timeout, and
  // leave no timer behind once the call is done.
  const controller = new AbortController();
  let settled = false;
  // The timer phase runs before the event loop reads the network: on a busy process, an
  // answer already waiting in the socket would be dropped by the abort. Under refresh-token
  // rotation that answer is the only copy of the new refresh token, so the abort waits one
  // turn (setImmediate runs after the I/O poll) and lets an answer that has arrived win.
  const timer = setTimeout(() => {
    setImmediate(() => {
      if (!settled) controller.abort();
    });
  }, call.timeout);
  try {
    return await exchange(call, controller.signal);
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

async function exchange(call: ArgusCall, signal: AbortSignal): Promise<ArgusAnswer> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...call.headers };
  if (call.clientIp) headers['x-forwarded-for'] = call.clientIp;
  const started = Date.now();
  let status: number;
  let answerHeaders: AnswerHeaders;
  let stream: Body;
  try {
    // undici's request never follows redirects by itself.
    const response = await request(call.url, {
      method: call.method,
      headers,
      body: call.body ?? null,
      signal,
    });
    status = response.statusCode;
    answerHeaders = response.headers;
    stream = response.body;
  } catch (error) {
    throw transportError(error, call, signal);
  }
  if (status >= 300 && status < 400) {
    discard(stream);
    throw new ArgusError(
      ArgusErrorCode.REDIRECT,
      `Argus answered the ${call.purpose} with a redirect (${status}); passport-argus never follows redirects from Argus`,
      { argusStatus: status },
    );
  }
  const body = await readCapped(stream, answerHeaders, call, signal);
  // An API call's purpose names its method and path already ("API call GET /x"): say them
  // once. Other calls ("token exchange") get them added.
  const target = `${call.method} ${call.url.pathname}`;
  const what = call.purpose.includes(`${call.method} /`)
    ? call.purpose
    : `${call.purpose} ${target}`;
  log.http('%s -> %d in %dms', what, status, Date.now() - started);
  return { status, headers: answerHeaders, body };
}

function readCapped(
  stream: Body,
  headers: AnswerHeaders,
  call: ArgusCall,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > call.maxBytes) {
    discard(stream);
    return Promise.reject(tooLarge(call));
  }
  // Stream events, not async iteration: the login benchmark measured the difference.
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    stream.on('data', (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > call.maxBytes) {
        stream.destroy();
        reject(tooLarge(call));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', (error: unknown) => reject(transportError(error, call, signal)));
    stream.on('end', () => resolve(concat(chunks, total)));
  });
}

/**
 * Drops an answer's body unread. undici reports the abandoned body as an 'error' event;
 * with no listener that would crash the process.
 */
function discard(stream: Body): void {
  stream.on('error', () => undefined);
  stream.destroy();
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(call: ArgusCall): ArgusError {
  return new ArgusError(
    ArgusErrorCode.RESPONSE_TOO_LARGE,
    `Argus answered the ${call.purpose} with more than ${call.maxBytes} bytes`,
  );
}

function transportError(error: unknown, call: ArgusCall, signal: AbortSignal): ArgusError {
  if (signal.aborted) {
    return new ArgusError(
      ArgusErrorCode.TIMEOUT,
      `Argus did not answer the ${call.purpose} within ${call.timeout} ms`,
      { cause: error },
    );
  }
  return new ArgusError(
    ArgusErrorCode.NETWORK,
    `Argus could not be reached for the ${call.purpose}`,
    {
      status: 503,
      cause: error,
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
