/**
 * The one HTTP layer for every call to Argus: token, refresh, profile, logout and API
 * calls all go through {@link callArgus}. It bounds each call in time and size, never
 * follows a redirect, and turns every failure into a typed {@link ArgusError}.
 */
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

/** Argus's answer, read whole. */
export interface ArgusAnswer {
  status: number;
  headers: Headers;
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
export async function callArgus(call: ArgusCall): Promise<ArgusAnswer> {
  const signal = AbortSignal.timeout(call.timeout);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...call.headers };
  if (call.clientIp) headers['x-forwarded-for'] = call.clientIp;
  const started = Date.now();
  let response: Response;
  try {
    response = await fetch(call.url, {
      method: call.method,
      headers,
      body: call.body,
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    throw transportError(error, call, signal);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new ArgusError(
      ArgusErrorCode.REDIRECT,
      `Argus answered the ${call.purpose} with a redirect (${response.status}); passport-argus never follows redirects from Argus`,
      { argusStatus: response.status },
    );
  }
  const body = await readCapped(response, call, signal);
  log.http(
    '%s %s %s -> %d in %dms',
    call.purpose,
    call.method,
    call.url.pathname,
    response.status,
    Date.now() - started,
  );
  return { status: response.status, headers: response.headers, body };
}

async function readCapped(
  response: Response,
  call: ArgusCall,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > call.maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw tooLarge(call);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > call.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(call);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ArgusError) throw error;
    throw transportError(error, call, signal);
  }
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
