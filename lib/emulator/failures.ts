import { STATUS_CODES } from 'node:http';
import type { Exchange } from './context.ts';
import { errorEnvelope } from './http-util.ts';
import type { EndpointName, FailurePlan } from './types.ts';

/** Every endpoint name, for validation. */
export const ENDPOINT_NAMES: readonly EndpointName[] = Object.freeze([
  'authorize',
  'login',
  'portal-logout',
  'token',
  'currentuser',
  'session',
  'session-delete',
  'userinfo',
]);

const PLAN_KEYS = new Set([
  'times',
  'status',
  'body',
  'contentType',
  'delay',
  'hang',
  'reset',
  'truncate',
  'hugeBody',
  'redirect',
  'drip',
]);

function fail(message: string): never {
  throw new TypeError(`Argus emulator: failNext: ${message}`);
}

function headerSafe(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '' || /[\r\n\0]/.test(value)) {
    fail(`${name} must be a non-empty string without line breaks`);
  }
  return value;
}

/** Checks an endpoint name and a plan, and returns a frozen copy of the plan. */
export function validatePlan(endpoint: unknown, plan: unknown): FailurePlan {
  if (typeof endpoint !== 'string' || !(ENDPOINT_NAMES as string[]).includes(endpoint)) {
    fail(`endpoint must be one of ${ENDPOINT_NAMES.join(', ')}`);
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
    fail('plan must be an object');
  }
  const input = plan as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!PLAN_KEYS.has(key)) fail(`unknown plan field ${key}`);
  }
  const out: FailurePlan = {};
  const { times, status, body, contentType, delay, hugeBody, redirect } = input;
  if (times !== undefined) {
    if (!Number.isSafeInteger(times) || (times as number) < 1) {
      fail('times must be a positive integer');
    }
    out.times = times as number;
  }
  if (status !== undefined) {
    if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) {
      fail('status must be an HTTP status from 200 to 599');
    }
    out.status = status as number;
  }
  if (body !== undefined) {
    if (typeof body !== 'string') fail('body must be a string');
    out.body = body;
  }
  if (contentType !== undefined) out.contentType = headerSafe(contentType, 'contentType');
  if (delay !== undefined) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      fail('delay must be a number of milliseconds, 0 or more');
    }
    out.delay = delay;
  }
  for (const flag of ['hang', 'reset', 'truncate', 'drip'] as const) {
    if (input[flag] === undefined) continue;
    if (typeof input[flag] !== 'boolean') fail(`${flag} must be true or false`);
    if (input[flag]) out[flag] = true;
  }
  if (hugeBody !== undefined) {
    if (!Number.isSafeInteger(hugeBody) || (hugeBody as number) < 1) {
      fail('hugeBody must be a positive integer number of bytes');
    }
    out.hugeBody = hugeBody as number;
  }
  if (redirect !== undefined) out.redirect = headerSafe(redirect, 'redirect');
  const modes = (['hang', 'reset', 'truncate', 'hugeBody', 'redirect', 'drip'] as const).filter(
    (mode) => out[mode] !== undefined,
  );
  if (modes.length > 1) fail(`choose one of ${modes.join(', ')}`);
  const mode = modes[0];
  if (mode === 'redirect') {
    if (out.body !== undefined) fail('redirect takes no body');
    if (out.status !== undefined && (out.status < 300 || out.status > 399)) {
      fail('a redirect status must be from 300 to 399');
    }
  } else if (mode !== undefined && (out.status !== undefined || out.body !== undefined)) {
    fail(`${mode} takes no status or body`);
  }
  return Object.freeze(out);
}

/** Pending plans per endpoint, each used for its `times` requests, first added first used. */
export class FailurePlans {
  #queues = new Map<EndpointName, { plan: FailurePlan; remaining: number }[]>();

  add(endpoint: EndpointName, plan: FailurePlan): void {
    const queue = this.#queues.get(endpoint) ?? [];
    queue.push({ plan, remaining: plan.times ?? 1 });
    this.#queues.set(endpoint, queue);
  }

  /** The plan for this request to `endpoint`, counting it as used. */
  take(endpoint: EndpointName): FailurePlan | undefined {
    const queue = this.#queues.get(endpoint);
    const next = queue?.[0];
    if (queue === undefined || next === undefined) return undefined;
    next.remaining--;
    if (next.remaining === 0) queue.shift();
    return next.plan;
  }

  clear(): void {
    this.#queues.clear();
  }
}

/** Timers of delayed answers, so that close() does not wait for them. */
export class Timers {
  #pending = new Set<NodeJS.Timeout>();

  set(callback: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      callback();
    }, ms);
    this.#pending.add(timer);
  }

  clear(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}

/** Streams a 200 JSON-looking body of exactly `size` bytes, minding backpressure. */
function streamHugeBody(ex: Exchange, size: number): void {
  const { res } = ex;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  const head = '{"filler":"';
  const tail = '"}';
  const fillerSize = size - head.length - tail.length;
  const chunk = 'x'.repeat(64 * 1024);
  let sent = 0;
  const pump = (): void => {
    if (fillerSize < 0) {
      res.end('x'.repeat(size));
      return;
    }
    if (sent === 0) res.write(head);
    while (sent < fillerSize) {
      const piece = chunk.slice(0, Math.min(chunk.length, fillerSize - sent));
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(tail);
  };
  // A client that gives up stops the stream instead of leaving it waiting for 'drain'.
  res.once('close', () => res.removeListener('drain', pump));
  pump();
}

/** How often a dripping body sends its next byte, in ms. */
const DRIP_INTERVAL = 50;

/**
 * Sends the headers of a 200 JSON answer and then one byte of body every
 * {@link DRIP_INTERVAL} ms, forever: a client without a time limit on the whole exchange
 * (body included) waits for ever. Stops when the client goes away or the emulator closes.
 */
function drip(ex: Exchange, timers: Timers): void {
  const { res } = ex;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.write('{"');
  const tick = (): void => {
    if (res.destroyed || res.writableEnded) return;
    res.write('x');
    timers.set(tick, DRIP_INTERVAL);
  };
  timers.set(tick, DRIP_INTERVAL);
}

/**
 * Plays a plan: waits `delay`, then misbehaves, or calls `normal` to answer as usual when the
 * plan only delays.
 */
export function runPlan(
  plan: FailurePlan,
  ex: Exchange,
  timers: Timers,
  now: () => number,
  normal: () => void,
): void {
  const act = () => {
    if (ex.res.destroyed) return;
    if (plan.hang) return; // the socket stays open until the client or close() ends it
    if (plan.reset) {
      ex.req.socket.destroy();
      return;
    }
    if (plan.truncate) {
      // Promise more than is sent, send the start of a JSON object, then drop the connection.
      ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1024 });
      ex.res.write('{"', () => ex.req.socket.destroy());
      return;
    }
    if (plan.hugeBody !== undefined) return streamHugeBody(ex, plan.hugeBody);
    if (plan.drip) return drip(ex, timers);
    if (plan.redirect !== undefined) {
      ex.res.writeHead(plan.status ?? 302, { location: plan.redirect, 'content-length': 0 });
      ex.res.end();
      return;
    }
    if (plan.status !== undefined || plan.body !== undefined) {
      const status = plan.status ?? 200;
      const body =
        plan.body ?? JSON.stringify(errorEnvelope(status, STATUS_CODES[status] ?? 'Error', now()));
      const contentType =
        plan.contentType ??
        (body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'application/json');
      ex.res.writeHead(status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
      });
      ex.res.end(body);
      return;
    }
    normal();
  };
  if (plan.delay !== undefined && plan.delay > 0) timers.set(act, plan.delay);
  else act();
}
