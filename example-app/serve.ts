/**
 * What `npm start` and `npm run start:koa` share: listen, then run the app against an
 * Argus emulator started in this process, or against a real Argus when ARGUS_CLIENT_ID,
 * ARGUS_CLIENT_SECRET and ARGUS_CALLBACK_URL are set (ARGUS_PORTAL_LOGOUT_PATH, if known,
 * for the logged-out page); sessions in Redis when REDIS_URL is set; print the URL and the
 * demo login.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import { type ArgusStrategyOptions, RedisRefreshCoordinator } from 'passport-argus';
import { DEMO_CLIENT, DEMO_USERS, startArgusEmulator } from 'passport-argus/emulator';
import { createClient, type RedisClientType } from 'redis';
import { EMULATOR_PORTAL_LOGOUT_PATH, type ExampleAppOptions } from './app.ts';

/** How one example app is started. */
export interface ExampleServer {
  /** The port when PORT is not set. */
  defaultPort: number;
  /** Printed after the URL, e.g. "(Koa)". */
  label?: string;
  /** Builds the app's request handler from the options. */
  handler(options: ExampleAppOptions): RequestListener;
}

/** Starts an example app as described above; stops on SIGINT and SIGTERM. */
export async function serveExample(example: ExampleServer): Promise<void> {
  const env = process.env;
  const host = env.HOST ?? '127.0.0.1';
  const port = Number(env.PORT ?? example.defaultPort);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;

  let argus: ArgusStrategyOptions;
  // Where "Also log out of Argus" leads: the real Argus documents no portal logout, so
  // there the portal home unless ARGUS_PORTAL_LOGOUT_PATH names one.
  let portalLogoutPath = env.ARGUS_PORTAL_LOGOUT_PATH || undefined;
  let stopEmulator = async () => {};
  if (env.ARGUS_CLIENT_ID && env.ARGUS_CLIENT_SECRET && env.ARGUS_CALLBACK_URL) {
    argus = {
      clientID: env.ARGUS_CLIENT_ID,
      clientSecret: env.ARGUS_CLIENT_SECRET,
      callbackURL: env.ARGUS_CALLBACK_URL,
      ...(env.ARGUS_PORTAL_URL ? { portalURL: env.ARGUS_PORTAL_URL } : {}),
      ...(env.ARGUS_API_URL ? { apiURL: env.ARGUS_API_URL } : {}),
    };
  } else {
    const callbackURL = `${url}/oauth/callback`;
    const emulator = await startArgusEmulator({
      host,
      port: Number(env.EMULATOR_PORT ?? 0),
      clients: [{ ...DEMO_CLIENT, redirectUris: [callbackURL] }],
      controlAPI: env.EMULATOR_CONTROL_API === '1',
      quiet: true,
    });
    stopEmulator = () => emulator.close();
    portalLogoutPath = EMULATOR_PORTAL_LOGOUT_PATH;
    argus = {
      clientID: DEMO_CLIENT.clientID,
      clientSecret: DEMO_CLIENT.clientSecret,
      callbackURL,
      portalURL: emulator.portalURL,
      apiURL: emulator.apiURL,
    };
    console.log(`Argus emulator: ${emulator.url}`);
  }

  const sessionSecret = env.SESSION_SECRET ?? randomBytes(32).toString('hex');
  // With REDIS_URL, sessions and refresh coordination live in Redis, so several instances
  // of this app can run behind one load balancer.
  let store: ExampleAppOptions['store'];
  if (env.REDIS_URL) {
    const redis = createClient({ url: env.REDIS_URL, disableOfflineQueue: true });
    redis.on('error', (error: Error) => console.error(`redis: ${error.message}`));
    await redis.connect();
    store = new RedisStore({ client: redis as unknown as RedisClientType });
    argus = { ...argus, coordinator: new RedisRefreshCoordinator(redis) };
    console.log('Sessions:       Redis');
  }
  server.on(
    'request',
    example.handler({
      argus,
      sessionSecret,
      secureCookie: url.startsWith('https:'),
      ...(store ? { store } : {}),
      ...(portalLogoutPath ? { portalLogoutPath } : {}),
    }),
  );

  console.log(`Example app:    ${url}${example.label ? ` ${example.label}` : ''}`);
  if (argus.portalURL?.startsWith('http://')) {
    const demo = DEMO_USERS.map((u) => `${u.userName} / ${u.password}`).join('   or   ');
    console.log(`Demo login:     ${demo}`);
  }
  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await stopEmulator();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Runs `start`, and exits with the error when it fails. */
export function run(start: () => Promise<void>): void {
  start().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
