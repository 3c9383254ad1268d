/**
 * The start both Koa-only test files share: a Koa app with its keys, a server listening on
 * a free loopback port, an emulator that knows the app's callback, and an ArgusStrategy on
 * its own koa-passport instance. The session and routes are the test's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import koaPassport from 'koa-passport';
import { ArgusStrategy } from 'passport-argus';
import { type ArgusEmulator, startArgusEmulator } from 'passport-argus/emulator';
import { CLIENT_ID, CLIENT_SECRET, SECRET } from './app.ts';

/** What {@link startKoaArgus} made; `server` answers nothing until the test mounts `app`. */
export interface KoaArgus {
  app: Koa;
  server: Server;
  url: string;
  emulator: ArgusEmulator;
  strategy: ArgusStrategy;
  passport: InstanceType<typeof koaPassport.KoaPassport>;
}

/** Starts the server and the emulator, and makes the strategy and passport instance. */
export async function startKoaArgus(): Promise<KoaArgus> {
  const app = new Koa();
  app.keys = [SECRET];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const emulator = await startArgusEmulator({
    quiet: true,
    clients: [
      { clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/oauth/callback`] },
    ],
  });
  const strategy = new ArgusStrategy({
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    callbackURL: `${url}/oauth/callback`,
    portalURL: emulator.portalURL,
    apiURL: emulator.apiURL,
  });
  const passport = new koaPassport.KoaPassport();
  passport.use(strategy);
  return { app, server, url, emulator, strategy, passport };
}
