/**
 * The server process of the login-throughput benchmark: the ArgusStrategy app and the
 * bare passport-oauth2 apps (with and without a profile call), each on its own server.
 * Started with use-undici.ts, the same process runs passport-argus on its previous HTTP
 * layer instead (undici's `request`).
 */
import { request } from 'node:http';
import { callArgus } from '../../lib/core/http-client.ts';
import { argusApp, bareApp, type Listening, listen } from './apps.ts';
import { serve } from './process.ts';

/** The apps of this process, by name. */
export type LoginApp = 'argus' | 'bareProfile' | 'bareNoProfile';

const servers = new Map<LoginApp, Listening>();

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A POST through passport-argus's own client: a timeout, a capped body read, typed errors. */
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
  /** Listens for the apps `names`, and answers each one's origin and callback URL. */
  async listen(
    names: readonly LoginApp[],
  ): Promise<Partial<Record<LoginApp, { url: string; callbackURL: string }>>> {
    const out: Partial<Record<LoginApp, { url: string; callbackURL: string }>> = {};
    for (const name of names) {
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
   * CPU time of this process per POST to `url`, in µs, `count` calls one after another,
   * after as many to warm up: through passport-argus's client (`'client'`), or straight
   * through node:http as passport-oauth2 calls (`'http'`).
   */
  async clientCost(how: 'client' | 'http', url: string, body: string, count: number) {
    const call = how === 'client' ? viaArgusClient : viaHttp;
    for (let i = 0; i < count; i++) await call(url, body);
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) await call(url, body);
    const { user, system } = process.cpuUsage(before);
    return (user + system) / count;
  },
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
