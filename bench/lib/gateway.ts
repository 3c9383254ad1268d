/**
 * A switchable front for the emulator's API, as a load balancer stands in front of Argus:
 * it passes every request through, or, while "down", answers each one itself with a 503
 * (as a balancer with no healthy backend does), or, while "hanging", holds each one
 * unanswered (as a backend that accepts connections and never answers does), and counts
 * them. Loopback only.
 */
import { Agent, createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The front, its switch and its count. */
export interface Gateway {
  url: string;
  /** From now on every request is answered 503 and counted. */
  down(): void;
  /** From now on every request is held unanswered and counted. */
  hang(): void;
  /**
   * From now on every request passes through to the emulator; the held ones are reset,
   * as a restarted backend drops the connections it never answered.
   */
  up(): void;
  /** Requests refused or held since the last `down()` or `hang()`. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts a gateway on 127.0.0.1, port 0, in front of `target` (an emulator's URL). */
export async function startGateway(target: string): Promise<Gateway> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let mode: 'up' | 'down' | 'hang' = 'up';
  let refused = 0;
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (mode === 'down') {
      refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Unavailable</h1>');
      return;
    }
    if (mode === 'hang') {
      refused++;
      req.resume();
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    down() {
      mode = 'down';
      refused = 0;
    },
    hang() {
      mode = 'hang';
      refused = 0;
    },
    up() {
      mode = 'up';
      for (const res of held) res.destroy();
      held.clear();
    },
    get refused() {
      return refused;
    },
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
