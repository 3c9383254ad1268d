import type { Exchange } from './context.ts';
import { mediaType, paramsToRecord, parseParams } from './http-util.ts';
import type { EndpointName, RecordedRequest } from './types.ts';

/** Default of `maxRecordedRequests`. */
export const DEFAULT_MAX_RECORDED_REQUESTS = 1_000;

/** Default of `maxRecordedBytes`: 8 MiB. */
export const DEFAULT_MAX_RECORDED_BYTES = 8 * 1024 * 1024;

/** The smallest `maxRecordedBytes`, so that one record with a cut body always fits. */
export const MIN_MAX_RECORDED_BYTES = 64 * 1024;

/** The most bytes of one request body a record keeps; the rest is cut off with a marker. */
export const RECORDED_BODY_LIMIT = 16 * 1024;

/**
 * The bytes a record holds, as the recording counts them: the UTF-8 length of its path, query,
 * body, header names and values, and form names and values. Object overhead is left out, so it
 * is a measure of what a client can make the emulator keep, not of heap use.
 */
export function recordSize(record: RecordedRequest): number {
  let bytes =
    Buffer.byteLength(record.path) +
    Buffer.byteLength(record.query) +
    Buffer.byteLength(record.body);
  for (const [name, value] of Object.entries(record.headers)) {
    bytes += Buffer.byteLength(name);
    for (const one of Array.isArray(value) ? value : [value ?? '']) bytes += Buffer.byteLength(one);
  }
  for (const [name, values] of Object.entries(record.form ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const value of values) bytes += Buffer.byteLength(value);
  }
  return bytes;
}

/** The record of a request as it arrived, its body cut to {@link RECORDED_BODY_LIMIT} bytes. */
export function recordOf(
  ex: Exchange,
  endpoint: EndpointName | 'other',
  at: number,
): RecordedRequest {
  const cut = ex.tooLarge || ex.body.length > RECORDED_BODY_LIMIT;
  const record: RecordedRequest = {
    endpoint,
    method: ex.method,
    path: ex.path,
    query: ex.query,
    headers: { ...ex.req.headers },
    body: cut ? cutBody(ex) : ex.bodyText,
    at,
  };
  if (cut) {
    record.bodyTruncated = true;
  } else if (mediaType(ex.req.headers['content-type']) === 'application/x-www-form-urlencoded') {
    // A cut body would parse into a wrong form: only a whole one gets a form.
    const form = parseParams(ex.bodyText);
    if (form !== undefined) record.form = paramsToRecord(form);
  }
  return Object.freeze(record);
}

/** The start of a long body and a marker that says how much there was. */
function cutBody(ex: Exchange): string {
  const total = ex.tooLarge ? `more than ${ex.body.length}` : String(ex.body.length);
  const kept = ex.body.subarray(0, RECORDED_BODY_LIMIT).toString('utf8');
  return `${kept}...[cut by the Argus emulator: ${RECORDED_BODY_LIMIT} of ${total} bytes kept]`;
}

/**
 * The recorded requests, bounded in number and in bytes ({@link recordSize}): the oldest go
 * first, so a long-running emulator under load keeps a fixed amount of memory.
 */
export class RequestLog {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #records: RecordedRequest[] = [];
  #sizes: number[] = [];
  /** Index of the oldest record still kept; dropped ones before it are compacted away lazily. */
  #head = 0;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  /** The bytes the kept records hold. */
  get bytes(): number {
    return this.#bytes;
  }

  add(record: RecordedRequest): void {
    const size = recordSize(record);
    this.#records.push(record);
    this.#sizes.push(size);
    this.#bytes += size;
    // The newest record always stays, even if it alone is over the byte bound.
    while (
      this.#records.length - this.#head > 1 &&
      (this.#records.length - this.#head > this.#maxCount || this.#bytes > this.#maxBytes)
    ) {
      this.#bytes -= this.#sizes[this.#head] ?? 0;
      this.#head++;
    }
    // Shifting one by one would be quadratic; drop the dead prefix once it is half the array.
    if (this.#head > 0 && this.#head * 2 >= this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The kept records, oldest first, in a fresh array. */
  list(): RecordedRequest[] {
    return this.#records.slice(this.#head);
  }

  clear(): void {
    this.#records = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
