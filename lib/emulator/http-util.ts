import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Request bodies above this many bytes are refused with 413. */
export const BODY_LIMIT = 64 * 1024;

/** A request body, and whether it went over {@link BODY_LIMIT} (then only the start is kept). */
export interface ReadBody {
  readonly body: Buffer;
  readonly tooLarge: boolean;
}

/** Reads a request body up to `limit` bytes; the rest of a larger body is drained unread. */
export function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const onData = (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
        // Answer now instead of waiting for a body that may never end.
        resolve({ body: Buffer.concat(chunks), tooLarge });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    // A client that goes away mid-body: settle anyway; the answer then goes nowhere.
    req.on('close', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

/** Parameters of a query string or form body, in order, each name with every value it had. */
export type Params = Map<string, string[]>;

/**
 * Parses `application/x-www-form-urlencoded` text (also a query string). Returns undefined when
 * a percent escape is malformed or decodes to invalid UTF-8: a strict server refuses such input
 * rather than guessing. A Map keeps names such as `__proto__` harmless.
 */
export function parseParams(text: string): Params | undefined {
  const params: Params = new Map();
  if (text === '') return params;
  for (const piece of text.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    const rawValue = eq === -1 ? '' : piece.slice(eq + 1);
    const name = formDecode(rawName);
    const value = formDecode(rawValue);
    if (name === undefined || value === undefined) return undefined;
    const values = params.get(name);
    if (values === undefined) params.set(name, [value]);
    else values.push(value);
  }
  return params;
}

/** Decodes one form component: `+` is a space, then percent escapes; undefined if malformed. */
export function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** The first name that appears more than once, if any. */
export function repeatedParam(params: Params): string | undefined {
  for (const [name, values] of params) if (values.length > 1) return name;
  return undefined;
}

/**
 * The single value of a parameter (callers check for repeats first). An empty value counts as
 * absent: "parameters sent without a value MUST be treated as if they were omitted" (RFC 6749
 * §3.1, §3.2).
 */
export function param(params: Params, name: string): string | undefined {
  const value = params.get(name)?.[0];
  return value === '' ? undefined : value;
}

/** A plain object copy of parsed parameters, for recording and JSON. */
export function paramsToRecord(params: Params): Record<string, string[]> {
  return Object.fromEntries([...params].map(([name, values]) => [name, [...values]]));
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The first value of the named cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The IP of a socket address as Argus would see it: an IPv4 address mapped into IPv6
 * (`::ffff:127.0.0.1`) is the IPv4 address; other IPv6 addresses stay as they are.
 */
export function normaliseIP(address: string | undefined): string {
  const ip = (address ?? '').trim();
  return /^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(ip) ? ip.slice(7) : ip;
}

/** Compares two secrets in constant time, whatever their lengths. */
export function secretsEqual(a: string, b: string): boolean {
  // Hashing first gives equal-length inputs, so the length of the secret does not leak either.
  const hashA = createHash('sha256').update(a, 'utf8').digest();
  const hashB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(hashA, hashB);
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHTML(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Writes a complete answer unless the connection is already gone. */
function send(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers with JSON. */
export function sendJSON(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  send(
    res,
    status,
    { 'content-type': 'application/json; charset=utf-8', ...headers },
    `${JSON.stringify(value)}`,
  );
}

/** One entry of an Argus envelope's `messages`. */
export interface EnvelopeMessage {
  readonly message: string;
  readonly messageTemplate: string;
  readonly type: 'ACTION_ERROR' | 'FIELD_ERROR';
  readonly field: string | null;
  readonly timestamp: number;
}

/** The Argus REST envelope around `data`. */
export function envelope(status: number, data: unknown, messages: EnvelopeMessage[] = []) {
  return { responseCode: status, limit: 0, offset: 0, count: 0, size: 0, messages, data };
}

/** An Argus error envelope: one ACTION_ERROR message and `data: null`. */
export function errorEnvelope(status: number, message: string, timestamp: number) {
  return envelope(status, null, [
    { message, messageTemplate: message, type: 'ACTION_ERROR', field: null, timestamp },
  ]);
}

/** Answers with an Argus error envelope. */
export function sendEnvelopeError(
  res: ServerResponse,
  status: number,
  message: string,
  timestamp: number,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJSON(res, status, errorEnvelope(status, message, timestamp), headers);
}

/** Headers of every HTML page: nothing runs, nothing loads, nothing frames it. */
const PAGE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Answers with an HTML page. */
export function sendHTML(
  res: ServerResponse,
  status: number,
  html: string,
  headers: OutgoingHttpHeaders = {},
): void {
  send(res, status, { ...PAGE_HEADERS, ...headers }, html);
}

/** Answers 302 with no body. */
export function redirect(
  res: ServerResponse,
  location: string,
  headers: OutgoingHttpHeaders = {},
): void {
  send(
    res,
    302,
    { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers },
    '',
  );
}

/**
 * Appends parameters to a redirect URI, keeping the URI exactly as registered: it gets `?` or
 * `&` and the encoded pairs, never a re-serialised query (RFC 6749 §3.1.2).
 */
export function appendQuery(uri: string, params: Record<string, string | undefined>): string {
  const pairs = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
  if (pairs === '') return uri;
  const separator = !uri.includes('?') ? '?' : /[?&]$/.test(uri) ? '' : '&';
  return `${uri}${separator}${pairs}`;
}
