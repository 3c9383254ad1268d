/**
 * An outbound proxy on loopback port 0, as an enterprise network puts between an app and
 * Argus, and the agent an app would pass to reach Argus through it.
 *
 * The proxy speaks `CONNECT` (RFC 9110 §9.3.6), as proxies do for `https:` targets: it
 * opens a tunnel to the target and relays bytes both ways. It records each tunnel, and,
 * since the emulator speaks plain HTTP, each request line that passes through a tunnel.
 */
import { Agent, type ClientRequestArgs, createServer, request } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** A running test proxy. */
export interface TestProxy {
  url: string;
  /** The target of each `CONNECT` received (`host:port`), in order. */
  tunnels: string[];
  /** Each request line relayed through a tunnel, as `METHOD /path`. */
  requests: string[];
  /** When set, the proxy answers `CONNECT` with this status instead of a tunnel. */
  refuseWith: number | undefined;
  close(): Promise<void>;
}

/**
 * A request line. Found anywhere in the stream: the request before it may end in a body
 * without a line end, and the bodies sent to Argus (forms, JSON) hold no request line.
 */
const REQUEST_LINE = /(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.1\r\n/g;

/** Starts a CONNECT proxy on 127.0.0.1, port 0. */
export async function startProxy(): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    // Only tunnels: a request in absolute form (a plain-HTTP forward) is not relayed.
    res.writeHead(405, { allow: 'CONNECT' }).end();
  });
  const proxy: TestProxy = {
    url: '',
    tunnels: [],
    requests: [],
    refuseWith: undefined,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    proxy.tunnels.push(target);
    if (proxy.refuseWith !== undefined) {
      client.end(`HTTP/1.1 ${proxy.refuseWith} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const { hostname, port } = new URL(`http://${target}`);
    const upstream = connect(Number(port), hostname, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(client).add(upstream);
    let seen = '';
    client.on('data', (chunk: Buffer) => {
      // Lines may arrive split across chunks: scan from the last complete match on.
      const from = seen.length;
      seen += chunk.toString('latin1');
      REQUEST_LINE.lastIndex = Math.max(0, from - 64);
      for (const match of seen.matchAll(REQUEST_LINE)) {
        if (match.index + match[0].length > from) proxy.requests.push(`${match[1]} ${match[2]}`);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/**
 * A keep-alive `http.Agent` whose connections are tunnels through the proxy at `proxyURL`
 * (for `http:` targets; a proxy agent for `https:` ones adds TLS over the tunnel). What
 * https-proxy-agent does, in a few lines, so that the tests need no package of it.
 */
export class TunnelAgent extends Agent {
  readonly #proxy: URL;

  constructor(proxyURL: string) {
    super({ keepAlive: true });
    this.#proxy = new URL(proxyURL);
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): undefined {
    const target = `${options.host}:${options.port}`;
    const done = callback ?? (() => undefined);
    const tunnel = request({
      host: this.#proxy.hostname,
      port: this.#proxy.port,
      method: 'CONNECT',
      path: target,
      headers: { host: target },
      agent: false,
    });
    tunnel.once('connect', (answer, socket: Socket) => {
      if (answer.statusCode === 200) return done(null, socket);
      socket.destroy();
      done(new Error(`the proxy refused the tunnel to ${target} (${answer.statusCode})`), socket);
    });
    tunnel.once('error', (error) => done(error, tunnel.socket as Socket));
    tunnel.end();
    // Nothing returned: Node.js's Agent then takes the socket from the callback.
    return undefined;
  }
}
