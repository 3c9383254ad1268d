/**
 * A switchable front for the emulator's API, as a load balancer stands in front of Argus:
 * it passes every request through, or, while "down", answers each one itself with a 503
 * (as a balancer with no healthy backend does) and counts it. Loopback only.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The front, its switch and its count. */
export interface Gateway {
  url: string;
  /** From now on every request is answered 503 and counted. */
  down(): void;
  /** From now on every request passes through to the emulator. */
  up(): void;
  /** Requests answered 503 since the last `down()`. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts a gateway on 127.0.0.1, port 0, in front of `target` (an emulator's URL). */
export async function startGateway(target: string): Promise<Gateway> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let isDown = false;
  let refused = 0;
  const server = createServer((req, res) => {
    if (isDown) {
      refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Unavailable</h1>');
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
      isDown = true;
      refused = 0;
    },
    up() {
      isDown = false;
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
