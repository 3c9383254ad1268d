/**
 * The HTTP layer under every call to Argus, against small servers of its own on loopback
 * port 0: what the emulator's failure plans cannot say (connections reused or destroyed,
 * how much of a body was read, what reached the server at all).
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ArgusCall, callArgus } from '../lib/core/http-client.ts';
import { collectUnhandledRejections } from './helpers/hostile.ts';

const rejections = collectUnhandledRejections();

interface TestServer {
  url: string;
  /** Connections opened to it. */
  connections: Socket[];
  /** Requests it received, as `METHOD /path`. */
  requests: string[];
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  expect(rejections).toEqual([]);
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const connections: Socket[] = [];
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  server.on('connection', (socket) => connections.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections, requests };
}

function call(url: string, extra: Partial<ArgusCall> = {}): Promise<unknown> {
  return callArgus({
    method: 'GET',
    url: new URL(url),
    timeout: 10_000,
    maxBytes: 1024,
    purpose: 'test call',
    ...extra,
  });
}

/** Writes 16 KiB chunks as fast as the client reads them, until the connection goes. */
function endless(res: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
  return closed;
}

describe('callArgus on node:http', () => {
  it('sends calls one after another on one kept-alive connection', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    for (let i = 0; i < 3; i++) await call(`${server.url}/x`);
    expect(server.requests).toEqual(['GET /x', 'GET /x', 'GET /x']);
    expect(server.connections).toHaveLength(1);
  });

  it('sends the body, the user agent and the end user’s IP', async () => {
    let seen: { headers: IncomingMessage['headers']; body: string } | undefined;
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk;
      });
      req.on('end', () => {
        seen = { headers: req.headers, body };
        res.end('{}');
      });
    });
    const answer = await callArgus({
      method: 'POST',
      url: new URL(`${server.url}/token?x=1`),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=%C3%A9',
      clientIp: '203.0.113.7',
      timeout: 10_000,
      maxBytes: 1024,
      purpose: 'test call',
    });
    expect(answer.status).toBe(200);
    expect(new TextDecoder().decode(answer.body)).toBe('{}');
    expect(server.requests).toEqual(['POST /token?x=1']);
    expect(seen?.body).toBe('a=1&b=%C3%A9');
    expect(seen?.headers).toMatchObject({
      'user-agent': 'passport-argus',
      'x-forwarded-for': '203.0.113.7',
      'content-length': '12',
    });
  });

  it('drops a redirect’s body with its connection, and the next call opens a new one', async () => {
    let first = true;
    const server = await serve((_req, res) => {
      if (!first) return void res.end('{}');
      first = false;
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      void endless(res);
    });
    await expect(call(`${server.url}/x`)).rejects.toMatchObject({ code: 'ARGUS_REDIRECT' });
    await expect(call(`${server.url}/x`)).resolves.toMatchObject({ status: 200 });
    expect(server.connections).toHaveLength(2);
  });

  it('stops reading a body past maxBytes and closes the connection', async () => {
    let closed: Promise<void> | undefined;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      closed = endless(res);
    });
    await expect(call(`${server.url}/x`)).rejects.toMatchObject({
      code: 'ARGUS_RESPONSE_TOO_LARGE',
    });
    // The server was still writing: the client went away instead of reading on.
    await closed;
  });

  it('refuses a declared Content-Length past maxBytes before any of the body arrives', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
      res.flushHeaders();
    });
    await expect(call(`${server.url}/x`)).rejects.toMatchObject({
      code: 'ARGUS_RESPONSE_TOO_LARGE',
    });
  });

  it('times out a body that never ends, and closes the connection', async () => {
    let closed: Promise<void> | undefined;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"');
      closed = new Promise((resolve) => res.once('close', resolve));
    });
    await expect(call(`${server.url}/x`, { timeout: 100 })).rejects.toMatchObject({
      code: 'ARGUS_TIMEOUT',
      message: 'Argus did not answer the test call within 100 ms',
    });
    await closed;
  });

  it('reports a header value Node.js refuses as a typed error, and sends nothing', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    await expect(
      call(`${server.url}/x`, { headers: { 'x-app': 'a\r\nx-injected: 1' } }),
    ).rejects.toMatchObject({ code: 'ARGUS_NETWORK' });
    expect(server.requests).toEqual([]);
  });

  it('reports an agent of the other scheme as a misconfiguration', async () => {
    await expect(call('https://127.0.0.1:1/x', { agent: new Agent() })).rejects.toMatchObject({
      code: 'ARGUS_MISCONFIGURED',
      message: expect.stringContaining('"agent" option'),
    });
  });

  it('opens its connections through the agent it is given', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const agent = new Agent({ keepAlive: true });
    const opened: string[] = [];
    const createConnection = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      opened.push(`${options.host}:${options.port}`);
      return createConnection(options, callback);
    };
    await call(`${server.url}/x`, { agent });
    await call(`${server.url}/x`, { agent });
    agent.destroy();
    expect(opened).toEqual([new URL(server.url).host]);
  });
});
