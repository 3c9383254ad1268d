import { STATUS_CODES } from 'node:http';
import type { Exchange } from './context.ts';
import { errorEnvelope } from './http-util.ts';
import type { Timers } from './timers.ts';
import type { EndpointName, FailurePlan } from './types.ts';

/** A plan waiting for requests: how many it may still take, and until when (emulator clock). */
interface Pending {
  plan: FailurePlan;
  remaining: number;
  until: number;
}

/**
 * Pending plans per endpoint, first added first used: each for its `times` requests, or for
 * every request until its `during` has passed on the emulator's clock.
 */
export class FailurePlans {
  #queues = new Map<EndpointName, Pending[]>();

  /** Queues `plan` for `endpoint`; `now` is the emulator clock's time. */
  add(endpoint: EndpointName, plan: FailurePlan, now: number): void {
    const queue = this.#queues.get(endpoint) ?? [];
    const timed = plan.during !== undefined;
    queue.push({
      plan,
      remaining: plan.times ?? (timed ? Number.POSITIVE_INFINITY : 1),
      until: timed ? now + (plan.during as number) : Number.POSITIVE_INFINITY,
    });
    this.#queues.set(endpoint, queue);
  }

  /** The plan for this request to `endpoint` at `now`, counting it as used. */
  take(endpoint: EndpointName, now: number): FailurePlan | undefined {
    const queue = this.#queues.get(endpoint);
    if (queue === undefined) return undefined;
    // A plan whose time is over is done, used up or not.
    while (queue[0] !== undefined && queue[0].until <= now) queue.shift();
    const next = queue[0];
    if (next === undefined) return undefined;
    next.remaining--;
    if (next.remaining === 0) queue.shift();
    return next.plan;
  }

  clear(): void {
    this.#queues.clear();
  }
}

/**
 * Wraps a step that writes an answer from a timer or an event, where nothing above it would
 * catch a throw and the process would die: a failure to write ends that one connection instead.
 */
function guarded(ex: Exchange, step: () => void): () => void {
  return () => {
    try {
      step();
    } catch {
      ex.req.socket.destroy();
    }
  };
}

/**
 * Whether the client is still there to receive an answer: it has not closed the connection nor
 * ended its side of it (Node's server then ends the connection and aborts the request).
 */
export function clientConnected(ex: Exchange): boolean {
  const { socket } = ex.req;
  return !ex.res.destroyed && !socket.destroyed && socket.writable && !socket.readableEnded;
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
  const pump = guarded(ex, (): void => {
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
  });
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
  const tick = guarded(ex, (): void => {
    if (res.destroyed || res.writableEnded) return;
    res.write('x');
    timers.set(tick, DRIP_INTERVAL);
  });
  timers.set(tick, DRIP_INTERVAL);
}

/** Misbehaves as the plan says, or calls `normal` when the plan only delays. */
function act(plan: FailurePlan, ex: Exchange, timers: Timers, now: number, normal: () => void) {
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
      plan.body ?? JSON.stringify(errorEnvelope(status, STATUS_CODES[status] ?? 'Error', now));
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
}

/**
 * Plays a plan: waits `delay`, then misbehaves, or calls `normal` to answer as usual when the
 * plan only delays.
 *
 * A delay models a request that reaches Argus late. A client that goes away before the delay
 * ends has a request that never arrived, so it is never processed: the timer is cancelled when
 * the connection ends, and the step checks the connection again when it runs.
 */
export function runPlan(
  plan: FailurePlan,
  ex: Exchange,
  timers: Timers,
  now: () => number,
  normal: () => void,
): void {
  const delay = plan.delay ?? 0;
  const late = delay > 0;
  const step = guarded(ex, () => {
    // A request on time was processed as it arrived; a late one only if its client waited.
    if (late ? clientConnected(ex) : !ex.res.destroyed) act(plan, ex, timers, now(), normal);
  });
  if (!late) {
    step();
    return;
  }
  const { socket } = ex.req;
  const gone = () => {
    cancel();
    forget();
  };
  // The socket outlives this request under keep-alive: its listeners go when the timer runs.
  const forget = () => {
    socket.off('close', gone);
    socket.off('end', gone);
  };
  // The step waits one more turn of the event loop (setImmediate runs after the I/O poll):
  // on a busy process the timer can fire before the loop has read a close that already
  // arrived, and a request whose client is gone must not be processed.
  const cancel = timers.set(() => {
    setImmediate(() => {
      forget();
      step();
    });
  }, delay);
  socket.once('close', gone);
  socket.once('end', gone);
}
