/**
 * The server process of the login-throughput benchmark: the ArgusStrategy app and the
 * bare passport-oauth2 apps (with and without a profile call), each on its own server.
 */
import { request } from 'node:http';
import { callArgus } from '../../lib/core/http-client.ts';
import { argusApp, bareApp, type Listening, listen } from './apps.ts';
import { serve } from './process.ts';

/** The apps of this process, by name. */
export type LoginApp = 'argus' | 'bareProfile' | 'bareNoProfile';

const servers = new Map<LoginApp, Listening>();

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A POST through passport-argus's own client: undici, a timeout, a capped body read. */
async function viaArgusClient(url: string, body: string): Promise<void> {
  await callArgus({
    method: 'POST',
    url: new URL(url),
    headers: FORM,
    body,
    timeout: 10_000,
    maxBytes: 1_000_000,
    purpose: 'benchmark call',
  });
}

/** A POST the way passport-oauth2 (through the oauth package) calls a provider: node:http. */
function viaHttp(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request(url, { method: 'POST', headers: FORM }, (response) => {
      response.on('data', () => undefined);
      response.on('end', resolve);
    });
    call.on('error', reject);
    call.end(body);
  });
}

serve({
  /** Listens, and answers each app's origin and callback URL. */
  async listen(): Promise<Record<LoginApp, { url: string; callbackURL: string }>> {
    const out = {} as Record<LoginApp, { url: string; callbackURL: string }>;
    for (const name of ['argus', 'bareProfile', 'bareNoProfile'] as const) {
      const server = await listen();
      servers.set(name, server);
      out[name] = { url: server.url, callbackURL: server.callbackURL };
    }
    return out;
  },
  /** Builds the apps against the emulator at `emulatorURL`. */
  build(emulatorURL: string) {
    for (const [name, server] of servers) {
      const { callbackURL } = server;
      if (name === 'argus') server.mount(argusApp({ emulatorURL, callbackURL }).app);
      else server.mount(bareApp({ emulatorURL, callbackURL, profile: name === 'bareProfile' }));
    }
  },
  /**
   * CPU time of this process per POST to `url`, in µs, with passport-argus's client and with node:http,
   * `count` calls one after another each, after a warm-up.
   */
  async clientCost(url: string, body: string, count: number) {
    const cost = async (call: (url: string, body: string) => Promise<void>) => {
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) await call(url, body);
      const { user, system } = process.cpuUsage(before);
      return (user + system) / count;
    };
    await cost(viaArgusClient);
    await cost(viaHttp);
    return { client: await cost(viaArgusClient), http: await cost(viaHttp) };
  },
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
