/**
 * A real Express app with passport-argus, against a real emulator, both on loopback
 * port 0, and a helper to log in through the Argus login form like a user.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import session, { MemoryStore, type Store } from 'express-session';
import { Passport } from 'passport';
import {
  type ArgusStrategyOptions,
  type ArgusStrategyOptionsWithRequest,
  ArgusStrategy,
  type ArgusVerify,
  type ArgusVerifyWithRequest,
  argusLogout,
  type OAuth2Verify,
  type OAuth2VerifyWithParams,
  type OAuth2VerifyWithRequest,
  type OAuth2VerifyWithRequestAndParams,
  type RequireArgusOptions,
  requireArgus,
} from 'passport-argus';
import {
  type ArgusEmulator,
  type ArgusEmulatorOptions,
  startArgusEmulator,
} from 'passport-argus/emulator';
import { Browser, inputValue, type Seen } from './browser.ts';

export interface TestAppOptions {
  emulator?: Omit<ArgusEmulatorOptions, 'clients'>;
  /** Reuse this emulator (another instance's) instead of starting one; close() leaves it running. */
  sharedEmulator?: ArgusEmulator;
  /** The session store; default a new MemoryStore. */
  store?: Store;
  strategy?: Partial<ArgusStrategyOptions | ArgusStrategyOptionsWithRequest>;
  verify?: ArgusVerify;
  /** A verify function of any other form (the strategy tells them apart), instead of `verify`. */
  verifyAnyForm?:
    | ArgusVerifyWithRequest
    | OAuth2Verify
    | OAuth2VerifyWithParams
    | OAuth2VerifyWithRequest
    | OAuth2VerifyWithRequestAndParams;
  guard?: RequireArgusOptions;
  callback?: Record<string, unknown>;
  /** Extra routes, added behind the guard (paths under /app). */
  protectedRoutes?: (app: Express) => void;
  /** Extra routes, added before the guard. */
  routes?: (app: Express, strategy: ArgusStrategy) => void;
  trustProxy?: boolean | string;
  permittedUsers?: string[];
  /** The session cookie's options (a setup mistake such as `secure: true` over http). */
  cookie?: session.CookieOptions;
  /** Leave out `passport.session()` (a setup mistake). */
  withoutPassportSession?: boolean;
}

export interface TestApp {
  url: string;
  callbackURL: string;
  emulator: ArgusEmulator;
  strategy: ArgusStrategy;
  store: Store;
  app: Express;
  errors: unknown[];
  /** The session record stored under `sid`, read straight from the store. */
  storedSession(sid: string): Promise<Record<string, unknown> | undefined>;
  /** The session id inside the browser's signed cookie. */
  sessionId(browser: Browser): string | undefined;
  login(
    browser?: Browser,
    user?: string,
    password?: string,
    start?: string,
  ): Promise<{ browser: Browser; landing: Seen }>;
  close(): Promise<void>;
}

export const SECRET = 'test-session-secret';
export const CLIENT_ID = '0c7f1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
export const CLIENT_SECRET = 'test client secret: %+ é';

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const app = express();
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackURL = `${url}/oauth/callback`;
  const emulator =
    options.sharedEmulator ??
    (await startArgusEmulator({
      quiet: true,
      ...options.emulator,
      clients: [
        {
          clientID: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: [callbackURL],
          ...(options.permittedUsers ? { permittedUsers: options.permittedUsers } : {}),
        },
      ],
    }));
  const strategy = new ArgusStrategy(
    {
      clientID: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackURL,
      portalURL: emulator.portalURL,
      apiURL: emulator.apiURL,
      timeout: 2000,
      ...options.strategy,
    } as ArgusStrategyOptions,
    // The strategy tells the forms apart at run time; the types here only list them.
    (options.verify ?? options.verifyAnyForm) as ArgusVerify | undefined,
  );
  const passport = new Passport();
  passport.use(strategy);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));
  const store = options.store ?? new MemoryStore();
  const errors: unknown[] = [];
  app.use(
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store,
      ...(options.cookie ? { cookie: options.cookie } : {}),
    }),
  );
  if (!options.withoutPassportSession) app.use(passport.session());
  app.get('/', (req, res) => {
    res
      .type('text')
      .send(req.user ? `home of ${(req.user as { username: string }).username}` : 'home');
  });
  app.get('/login', passport.authenticate('argus'));
  app.get(
    '/oauth/callback',
    passport.authenticate(
      'argus',
      options.callback ?? { successReturnToOrRedirect: '/', failureRedirect: '/login-failed' },
    ),
  );
  app.get('/login-failed', (_req, res) => {
    res.status(401).type('text').send('login failed');
  });
  app.use('/logout', argusLogout({ strategy }));
  options.routes?.(app, strategy);
  app.use('/app', requireArgus({ strategy, ...options.guard }));
  options.protectedRoutes?.(app);
  app.get('/app/me', (req, res) => {
    res.json({ user: req.user, expiresAt: req.argus.expiresAt.toISOString() });
  });
  app.get('/app/page', (req, res) => {
    res
      .type('html')
      .send(`<p>protected page of ${(req.user as { username: string }).username}</p>`);
  });
  app.get('/app/argus', async (req, res, next) => {
    try {
      res.json(await req.argus.json('/currentuser/v1/user'));
    } catch (error) {
      next(error);
    }
  });
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    errors.push(error);
    // As Express's own error handler does: the error's headers (Retry-After) go out too.
    if (error.headers !== undefined) res.set(error.headers);
    res
      .status(typeof error.status === 'number' ? error.status : 500)
      .json({ error: error.code ?? 'internal' });
  };
  app.use(onError);

  const sessionId = (browser: Browser) => {
    const raw = browser.cookie(url, 'connect.sid');
    if (raw === undefined) return undefined;
    const value = decodeURIComponent(raw);
    return value.startsWith('s:') ? value.slice(2, value.lastIndexOf('.')) : undefined;
  };

  return {
    url,
    callbackURL,
    emulator,
    strategy,
    store,
    app,
    errors,
    sessionId,
    storedSession: (sid) =>
      new Promise((resolve, reject) =>
        store.get(sid, (error, value) =>
          error ? reject(error) : resolve(value as unknown as Record<string, unknown> | undefined),
        ),
      ),
    async login(
      browser = new Browser(),
      user = 'alice',
      password = `${user}-password`,
      start = '/login',
    ) {
      const form = await browser.follow(`${url}${start}`);
      if (form.status !== 200 || !form.url.includes('/spa/login')) {
        throw new Error(`expected the Argus login form, got ${form.status} at ${form.url}`);
      }
      const landing = await browser.follow(`${emulator.portalURL}/spa/login`, {
        form: { username: user, password, return: inputValue(form.body, 'return') ?? '' },
      });
      return { browser, landing };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (options.sharedEmulator === undefined) await emulator.close();
    },
  };
}
