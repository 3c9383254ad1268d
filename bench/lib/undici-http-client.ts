/**
 * passport-argus's previous HTTP layer, on undici's `request`, kept for the login
 * benchmark: it runs the same app with this `callArgus` in place of the node:http one
 * (see undici-hooks.ts), so that the two are measured side by side in one run. Everything
 * but `callArgus` is the package's own module. It is the client as it was when node:http
 * replaced it, and is not kept in step with later changes to lib/core/http-client.ts.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { ArgusError, ArgusErrorCode } from '../../lib/core/errors.ts';
import type { AnswerHeaders, ArgusAnswer, ArgusCall } from '../../lib/core/http-client.ts';
import { log } from '../../lib/core/log.ts';

export * from '../../lib/core/http-client.ts';

const USER_AGENT = 'passport-argus';

/** `callArgus` on undici: the same contract as the package's own. */
export async function callArgus(call: ArgusCall): Promise<ArgusAnswer> {
  const controller = new AbortController();
  let settled = false;
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
  let stream: Readable;
  try {
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
  const target = `${call.method} ${call.url.pathname}`;
  const what = call.purpose.includes(`${call.method} /`)
    ? call.purpose
    : `${call.purpose} ${target}`;
  log.http('%s -> %d in %dms', what, status, Date.now() - started);
  return { status, headers: answerHeaders, body };
}

function readCapped(
  stream: Readable,
  headers: AnswerHeaders,
  call: ArgusCall,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > call.maxBytes) {
    discard(stream);
    return Promise.reject(tooLarge(call));
  }
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

function discard(stream: Readable): void {
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
    { status: 503, cause: error },
  );
}
