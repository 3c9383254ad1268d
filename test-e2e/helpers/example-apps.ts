/**
 * The example apps (Express and Koa) served on loopback port 0 against an
 * Argus emulator started in this process, so a journey can move the emulator's clock and
 * log users out of Argus directly.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ArgusEmulator,
  type ArgusEmulatorOptions,
  DEMO_CLIENT,
  startArgusEmulator,
} from 'passport-argus/emulator';
import {
  createExampleApp,
  EMULATOR_PORTAL_LOGOUT_PATH,
  type ExampleAppOptions,
} from '../../example-app/app.ts';
import { createKoaExampleApp } from '../../example-app/koa-app.ts';

/** One example app: its framework's name and how to turn options into a request listener. */
export interface ExampleApp {
  name: string;
  listener(options: ExampleAppOptions): RequestListener;
}

/** The example apps to drive, as `[name, app]` rows for `describe.each`. */
export const EXAMPLE_APPS: [string, ExampleApp][] = [
  ['express', { name: 'express', listener: (options) => createExampleApp(options).app }],
  ['koa', { name: 'koa', listener: (options) => createKoaExampleApp(options).app.callback() }],
];

/** A running example app and its emulator. */
export interface RunningExample {
  /** The app's origin, `http://127.0.0.1:<port>`. */
  url: string;
  /**
   * The emulated Argus portal as the browser sees it: `http://localhost:<port>`, a
   * different site from the app, as the real portal is.
   */
  portalURL: string;
  emulator: ArgusEmulator;
  /** Every request the app received, as `METHOD /path?query`, oldest first. */
  requests: string[];
  close(): Promise<void>;
}

/** Options of {@link startExample}. */
export interface StartExampleOptions {
  /** User names the app's Argus client permits; default everyone. */
  permittedUsers?: string[];
  emulator?: Omit<ArgusEmulatorOptions, 'clients'>;
}

/**
 * Serves `app` on 127.0.0.1 port 0 against a fresh emulator whose client has the app's
 * callback URL as its one redirect URI.
 */
export async function startExample(
  app: ExampleApp,
  options: StartExampleOptions = {},
): Promise<RunningExample> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackURL = `${url}/oauth/callback`;
  const emulator = await startArgusEmulator({
    quiet: true,
    ...options.emulator,
    clients: [
      {
        ...DEMO_CLIENT,
        redirectUris: [callbackURL],
        ...(options.permittedUsers ? { permittedUsers: options.permittedUsers } : {}),
      },
    ],
  });
  // The browser reaches the portal by name and the app by address: two sites, so the
  // journeys cross a site boundary on the way to Argus and back, and SameSite applies.
  const portalURL = emulator.portalURL.replace('//127.0.0.1:', '//localhost:');
  const requests: string[] = [];
  server.on('request', (req) => requests.push(`${req.method} ${req.url}`));
  server.on(
    'request',
    app.listener({
      sessionSecret: 'browser-journeys',
      argus: {
        clientID: DEMO_CLIENT.clientID,
        clientSecret: DEMO_CLIENT.clientSecret,
        callbackURL,
        portalURL,
        apiURL: emulator.apiURL,
      },
      // As `npm start` does on its emulator.
      portalLogoutPath: EMULATOR_PORTAL_LOGOUT_PATH,
    }),
  );
  return {
    url,
    portalURL,
    emulator,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await emulator.close();
    },
  };
}
