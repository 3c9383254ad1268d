/**
 * Configuration: plain http refused off loopback (R12), and one warning with a code of its
 * own for each risky but allowed setup.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session, { type CookieOptions, MemoryStore, Store } from 'express-session';
import { Passport } from 'passport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArgusStrategy,
  ArgusWarningCode,
  deploymentWarnings,
  requireArgus,
  WARNING_TYPE,
} from 'passport-argus';
import { rawRequest } from './helpers/hostile.ts';
import { type CapturedWarning, captureWarnings, releaseWarnings } from './helpers/warnings.ts';

const base = {
  clientID: 'client',
  clientSecret: 'secret',
  callbackURL: 'https://app.example/oauth/callback',
};

// Every warning is recorded rather than printed, and each test says which it expects.
let warnings: CapturedWarning[] = [];
const codes = () =>
  warnings.map((warning) => {
    expect(warning.name).toBe(WARNING_TYPE);
    return warning.code;
  });

let server: Server | undefined;
const nodeEnv = process.env.NODE_ENV;
beforeEach(() => {
  warnings = captureWarnings();
});
afterEach(async () => {
  releaseWarnings();
  process.env.NODE_ENV = nodeEnv;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }
});

/** Warnings are delivered on the next tick: let them arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A small Express app with a session, passport and a guard, answering on loopback. */
async function guardedApp(
  options: { cookie?: CookieOptions; store?: Store; trustProxy?: unknown } = {},
): Promise<string> {
  const app = express();
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  const passport = new Passport();
  const strategy = new ArgusStrategy({
    ...base,
    portalURL: 'http://127.0.0.1:9',
    apiURL: 'http://127.0.0.1:9',
    name: 'config-test',
  });
  passport.use(strategy);
  app.use(
    session({
      secret: 'a long enough test secret',
      resave: false,
      saveUninitialized: false,
      store: options.store ?? new MemoryStore(),
      ...(options.cookie ? { cookie: options.cookie } : {}),
    }),
  );
  app.use(passport.session());
  app.use('/app', requireArgus({ strategy }));
  server = createServer(app);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A store that is not express-session's MemoryStore (what a Redis store looks like to us). */
class SharedStore extends Store {
  readonly #map = new Map<string, string>();
  override get(sid: string, cb: (e: unknown, s?: session.SessionData | null) => void) {
    const value = this.#map.get(sid);
    cb(null, value === undefined ? null : JSON.parse(value));
  }
  override set(sid: string, s: session.SessionData, cb?: (e?: unknown) => void) {
    this.#map.set(sid, JSON.stringify(s));
    cb?.();
  }
  override destroy(sid: string, cb?: (e?: unknown) => void) {
    this.#map.delete(sid);
    cb?.();
  }
}

const https = { 'x-forwarded-proto': 'https', accept: 'application/json' };

describe('R12: https for every Argus URL', () => {
  it.each(['portalURL', 'apiURL', 'callbackURL'])(
    'R12: an http:// %s off loopback is refused at construction, with a message that says why',
    (option) => {
      expect(() => new ArgusStrategy({ ...base, [option]: 'http://argus.example' })).toThrow(
        new RegExp(
          `option "${option}" must use https: plain http would send tokens and secrets in the clear`,
        ),
      );
    },
  );

  it.each(['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080'])(
    'R12: loopback (%s) may use http, with no warning',
    async (url) => {
      expect(() => new ArgusStrategy({ ...base, apiURL: url, portalURL: url })).not.toThrow();
      await settle();
      expect(warnings).toEqual([]);
    },
  );

  it('R12: allowInsecureHttp lets http through off loopback, with one PASSPORT_ARGUS_INSECURE_HTTP warning per URL', async () => {
    new ArgusStrategy({
      ...base,
      apiURL: 'http://argus.example',
      portalURL: 'http://argus.example',
      allowInsecureHttp: true,
    });
    await settle();
    expect(codes()).toEqual(['PASSPORT_ARGUS_INSECURE_HTTP', 'PASSPORT_ARGUS_INSECURE_HTTP']);
    expect(warnings[0]?.message).toMatch(/portalURL.*in the clear/);
  });
});

describe('warnings about the setup, once per requireArgus middleware', () => {
  it('warns once about the in-memory session store under NODE_ENV=production', async () => {
    const url = await guardedApp();
    process.env.NODE_ENV = 'production';
    expect(
      (await rawRequest(url, '/app/a', { headers: { accept: 'application/json' } })).status,
    ).toBe(401);
    expect(
      (await rawRequest(url, '/app/b', { headers: { accept: 'application/json' } })).status,
    ).toBe(401);
    await settle();
    expect(codes()).toEqual([ArgusWarningCode.MEMORY_STORE]);
    expect(warnings[0]?.message).toMatch(/shared store such as connect-redis/);
  });

  it('says nothing about the in-memory store outside production, or about a shared store', async () => {
    process.env.NODE_ENV = 'development';
    const dev = await guardedApp();
    await rawRequest(dev, '/app/a');
    await settle();
    expect(warnings).toEqual([]);
    server?.closeAllConnections();
    server?.close();
    process.env.NODE_ENV = 'production';
    const shared = await guardedApp({ store: new SharedStore() });
    await rawRequest(shared, '/app/a');
    await settle();
    expect(warnings).toEqual([]);
  });

  it('warns when the app serves https and the session cookie has no sameSite and is not secure', async () => {
    const url = await guardedApp({ trustProxy: 'loopback' });
    await rawRequest(url, '/app/a', { headers: https });
    await settle();
    expect(codes()).toEqual([ArgusWarningCode.COOKIE_SAMESITE, ArgusWarningCode.COOKIE_SECURE]);
    expect(warnings[0]?.message).toMatch(/sameSite to 'lax'/);
    expect(warnings[1]?.message).toMatch(/secure to true/);
  });

  it('warns about a missing sameSite alone when the cookie is secure', async () => {
    const url = await guardedApp({ trustProxy: 'loopback', cookie: { secure: true } });
    await rawRequest(url, '/app/a', { headers: https });
    await settle();
    expect(codes()).toEqual([ArgusWarningCode.COOKIE_SAMESITE]);
  });

  it('says nothing about a cookie with sameSite lax and secure (or secure: auto) over https', async () => {
    const url = await guardedApp({
      trustProxy: 'loopback',
      cookie: { sameSite: 'lax', secure: 'auto' },
    });
    await rawRequest(url, '/app/a', { headers: https });
    await settle();
    expect(warnings).toEqual([]);
  });

  it('says nothing about the cookie of an app served over plain http', async () => {
    const url = await guardedApp();
    await rawRequest(url, '/app/a');
    await settle();
    expect(warnings).toEqual([]);
  });

  it('warns about trust proxy true, which lets any client choose the IP forwarded to Argus', async () => {
    const url = await guardedApp({ trustProxy: true });
    await rawRequest(url, '/app/a', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    await rawRequest(url, '/app/b');
    await settle();
    expect(codes()).toEqual([ArgusWarningCode.TRUST_PROXY]);
    expect(warnings[0]?.message).toMatch(/number of proxies/);
  });

  it.each([1, 'loopback', '10.0.0.1'])('says nothing about trust proxy %j', async (setting) => {
    const url = await guardedApp({ trustProxy: setting });
    await rawRequest(url, '/app/a');
    await settle();
    expect(warnings).toEqual([]);
  });

  it('checks on the first request only: the request path pays nothing afterwards', async () => {
    const url = await guardedApp({ trustProxy: 'loopback' });
    await rawRequest(url, '/app/a');
    await rawRequest(url, '/app/b', { headers: https });
    await settle();
    expect(warnings).toEqual([]);
  });

  it('lets an app silence one warning by its code', async () => {
    // Real process warnings here, with the app's own handler in place of Node's printer.
    releaseWarnings();
    const url = await guardedApp({ trustProxy: true });
    const printed: string[] = [];
    const silenced: string[] = [];
    const handler = (warning: Error & { code?: string }) => {
      if (warning.code === ArgusWarningCode.TRUST_PROXY) silenced.push(warning.code);
      else printed.push(String(warning.code));
    };
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', handler);
    try {
      await rawRequest(url, '/app/a');
      await settle();
    } finally {
      process.off('warning', handler);
      for (const printer of printers) process.on('warning', printer);
    }
    expect(printed).toEqual([]);
    expect(silenced).toEqual([ArgusWarningCode.TRUST_PROXY]);
  });

  it('decides from plain facts, so any framework adapter can feed it', () => {
    expect(deploymentWarnings({})).toEqual([]);
    expect(
      deploymentWarnings({
        production: true,
        memoryStore: true,
        secureRequest: true,
        trustsEveryProxy: true,
      }).map((w) => w.code),
    ).toEqual([
      'PASSPORT_ARGUS_MEMORY_STORE',
      'PASSPORT_ARGUS_COOKIE_SAMESITE',
      'PASSPORT_ARGUS_COOKIE_SECURE',
      'PASSPORT_ARGUS_TRUST_PROXY',
    ]);
    expect(
      deploymentWarnings({
        production: false,
        memoryStore: true,
        secureRequest: true,
        cookieSameSite: 'strict',
        cookieSecure: true,
      }),
    ).toEqual([]);
  });
});
