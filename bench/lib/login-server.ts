/**
 * The server process of the login-throughput benchmark: the ArgusStrategy app and the
 * bare passport-oauth2 apps (with and without a profile call), each on its own server.
 */
import { argusApp, bareApp, type Listening, listen } from './apps.ts';
import { serve } from './process.ts';

/** The apps of this process, by name. */
export type LoginApp = 'argus' | 'bareProfile' | 'bareNoProfile';

const servers = new Map<LoginApp, Listening>();

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
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
