/**
 * The same small app in Express and in Koa, each with passport-argus against its own
 * emulator on loopback port 0, so one table of scenarios can run against both.
 *
 * Routes: `/` (home), `/login`, `/oauth/callback`, `/login-failed`, `/logout`, the guard on
 * `/app`, `/app/me` (JSON user and expiry), `/app/page` (HTML), `/app/argus` (the API's
 * `data`).
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import Router from '@koa/router';
import type { Store } from 'express-session';
import Koa from 'koa';
import koaPassport from 'koa-passport';
import session from 'koa-session';
import {
  ArgusStrategy,
  type ArgusStrategyOptions,
  type RequireArgusOptions,
  requireArgus as requireExpressGuard,
} from 'passport-argus';
import {
  type ArgusEmulator,
  type ArgusEmulatorOptions,
  startArgusEmulator,
} from 'passport-argus/emulator';
import { argusLogout, requireArgus } from 'passport-argus/koa';
import { CLIENT_ID, CLIENT_SECRET, SECRET, startTestApp } from '../helpers/app.ts';
import { Browser, inputValue, type Seen } from '../helpers/browser.ts';

/** What a scenario may change about the app. */
export interface ScenarioOptions {
  emulator?: Omit<ArgusEmulatorOptions, 'clients'>;
  strategy?: Partial<ArgusStrategyOptions>;
  guard?: RequireArgusOptions;
  /** Guard every path but the public ones, so any request path can become a return path. */
  guardEverything?: boolean;
  /** Trust X-Forwarded-* from every hop (Express `trust proxy: true`, Koa `app.proxy`). */
  trustEveryProxy?: boolean;
  /**
   * Called with each request's path once its session is loaded, before the guard; a
   * promise holds the request until it settles (to order requests without sleeping).
   */
  hold?: (path: string) => Promise<void> | undefined;
  /** A session cookie marked `secure` although the app serves plain http (a setup mistake). */
  secureCookie?: boolean;
  /** Leave out `passport.session()` (a setup mistake). */
  withoutPassportSession?: boolean;
  /**
   * Another instance of this app: the same session store and emulator, its own strategy
   * (its own options). A browser's cookie reaches both, since cookies ignore the port.
   */
  shareWith?: ScenarioApp;
}

/** A running app of either framework, seen as the scenarios need it. */
export interface ScenarioApp {
  url: string;
  emulator: ArgusEmulator;
  strategy: ArgusStrategy;
  /** The session cookie's name. */
  cookieName: string;
  /** Errors that reached the app's error handler. */
  errors: unknown[];
  /** The session record stored under `sid`, read straight from the store. */
  storedSession(sid: string): Promise<Record<string, unknown> | undefined>;
  /** Writes `record` under `sid` straight into the store (a late request's lost write). */
  overwriteSession(sid: string, record: Record<string, unknown>): Promise<void>;
  /** The session store itself, for {@link ScenarioOptions.shareWith}. */
  sessionStore: unknown;
  /** The session id (store key) that the browser's cookie carries. */
  sessionId(browser: Browser): string | undefined;
  /** Logs in through the Argus login form like a user, starting at `/login`. */
  login(browser?: Browser, user?: string): Promise<{ browser: Browser; landing: Seen }>;
  close(): Promise<void>;
}

/** Starts a {@link ScenarioApp}. */
export type StartScenarioApp = (options?: ScenarioOptions) => Promise<ScenarioApp>;

/** The paths the guard leaves alone when it guards everything. */
export const PUBLIC_PATHS = ['/', '/login', '/oauth/callback', '/login-failed', '/logout'];

/** The Express app of test/helpers/app.ts. */
export const startExpressScenarioApp: StartScenarioApp = async (options = {}) => {
  const shared = options.shareWith;
  const app = await startTestApp({
    ...(shared ? { store: shared.sessionStore as Store, sharedEmulator: shared.emulator } : {}),
    ...(options.emulator ? { emulator: options.emulator } : {}),
    ...(options.strategy ? { strategy: options.strategy } : {}),
    ...(options.guard ? { guard: options.guard } : {}),
    ...(options.trustEveryProxy ? { trustProxy: true } : {}),
    ...(options.secureCookie ? { cookie: { secure: true } } : {}),
    ...(options.withoutPassportSession ? { withoutPassportSession: true } : {}),
    routes: (express, strategy) => {
      const { hold } = options;
      if (hold)
        express.use(
          (req, _res, next) => void (hold(req.path) ?? Promise.resolve()).then(() => next()),
        );
      if (options.guardEverything) {
        const guard = requireExpressGuard({ strategy, ...options.guard });
        express.use((req, res, next) =>
          PUBLIC_PATHS.includes(req.path) ? next() : guard(req, res, next),
        );
      }
    },
  });
  return {
    url: app.url,
    emulator: app.emulator,
    strategy: app.strategy,
    cookieName: 'connect.sid',
    errors: app.errors,
    storedSession: app.storedSession,
    overwriteSession: (sid, record) =>
      new Promise<void>((resolve, reject) =>
        app.store.set(sid, record as never, (error) => (error ? reject(error) : resolve())),
      ),
    sessionStore: app.store,
    sessionId: app.sessionId,
    login: (browser, user) => app.login(browser, user),
    close: () => app.close(),
  };
};

/** A koa-session external store over a Map, serialising records as a real store does. */
function mapStore(records: Map<string, string>) {
  return {
    async get(key: string) {
      const value = records.get(key);
      return value === undefined ? undefined : JSON.parse(value);
    },
    async set(key: string, record: unknown) {
      records.set(key, JSON.stringify(record));
    },
    async destroy(key: string) {
      records.delete(key);
    },
  };
}

/** The same app in Koa 3 with koa-session (external store) and koa-passport. */
export const startKoaScenarioApp: StartScenarioApp = async (options = {}) => {
  const app = new Koa();
  app.keys = [SECRET];
  if (options.trustEveryProxy) app.proxy = true;
  // The handler is attached once the middleware is in place: Koa composes it in callback().
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackURL = `${url}/oauth/callback`;
  const shared = options.shareWith;
  const emulator =
    shared?.emulator ??
    (await startArgusEmulator({
      quiet: true,
      ...options.emulator,
      clients: [{ clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [callbackURL] }],
    }));
  const strategy = new ArgusStrategy({
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    callbackURL,
    portalURL: emulator.portalURL,
    apiURL: emulator.apiURL,
    timeout: 2000,
    ...options.strategy,
  } as ArgusStrategyOptions);
  const passport = new koaPassport.KoaPassport();
  passport.use(strategy);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  const records = (shared?.sessionStore as Map<string, string> | undefined) ?? new Map();
  const errors: unknown[] = [];
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      errors.push(error);
      const { status, code, headers } = error as {
        status?: unknown;
        code?: unknown;
        headers?: Record<string, string>;
      };
      ctx.status = typeof status === 'number' ? status : 500;
      // As Koa's own error handler does: the error's headers (Retry-After) go out too.
      if (headers !== undefined) ctx.set(headers);
      ctx.body = { error: typeof code === 'string' ? code : 'internal' };
    }
  });
  app.use(
    session(
      {
        store: mapStore(records),
        sameSite: 'lax',
        ...(options.secureCookie ? { secure: true } : {}),
      },
      app,
    ),
  );
  app.use(passport.initialize());
  if (!options.withoutPassportSession) app.use(passport.session());

  const { hold } = options;
  if (hold)
    app.use(async (ctx, next) => {
      await hold(ctx.path);
      await next();
    });
  // As Express's app.use('/app', guard): every method, whether or not a route matches.
  const guard = requireArgus({ strategy, ...options.guard });
  const guarded = options.guardEverything
    ? (path: string) => !PUBLIC_PATHS.includes(path)
    : (path: string) => path === '/app' || path.startsWith('/app/');
  app.use((ctx, next) => (guarded(ctx.path) ? guard(ctx, next) : next()));
  const router = new Router();
  router.get('/', (ctx) => {
    const user = ctx.state.user as { username: string } | undefined;
    ctx.type = 'text';
    ctx.body = user ? `home of ${user.username}` : 'home';
  });
  router.get('/login', passport.authenticate('argus'));
  router.get(
    '/oauth/callback',
    passport.authenticate('argus', {
      successReturnToOrRedirect: '/',
      failureRedirect: '/login-failed',
    }),
  );
  router.get('/login-failed', (ctx) => {
    ctx.status = 401;
    ctx.type = 'text';
    ctx.body = 'login failed';
  });
  router.all('/logout', argusLogout({ strategy }));
  router.get('/app/me', (ctx) => {
    ctx.body = { user: ctx.state.user, expiresAt: ctx.state.argus.expiresAt.toISOString() };
  });
  router.get('/app/page', (ctx) => {
    ctx.type = 'html';
    ctx.body = `<p>protected page of ${(ctx.state.user as { username: string }).username}</p>`;
  });
  router.get('/app/argus', async (ctx) => {
    ctx.body = await ctx.state.argus.json('/currentuser/v1/user');
  });
  app.use(router.routes());
  server.on('request', app.callback());

  return {
    url,
    emulator,
    strategy,
    cookieName: 'koa.sess',
    errors,
    sessionStore: records,
    async storedSession(sid) {
      const value = records.get(sid);
      return value === undefined ? undefined : JSON.parse(value);
    },
    async overwriteSession(sid, record) {
      records.set(sid, JSON.stringify(record));
    },
    sessionId: (browser) => browser.cookie(url, 'koa.sess'),
    async login(browser = new Browser(), user = 'alice') {
      const form = await browser.follow(`${url}/login`);
      if (form.status !== 200 || !form.url.includes('/spa/login')) {
        throw new Error(`expected the Argus login form, got ${form.status} at ${form.url}`);
      }
      const landing = await browser.follow(`${emulator.portalURL}/spa/login`, {
        form: {
          username: user,
          password: `${user}-password`,
          return: inputValue(form.body, 'return') ?? '',
        },
      });
      return { browser, landing };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (shared === undefined) await emulator.close();
    },
  };
};

/** Both frameworks, for `describe.each`. */
export const FRAMEWORKS: [string, StartScenarioApp][] = [
  ['express', startExpressScenarioApp],
  ['koa', startKoaScenarioApp],
];
