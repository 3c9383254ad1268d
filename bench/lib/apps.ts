/**
 * The apps under test, built the way their users build them: an Express app with
 * express-session, passport and `ArgusStrategy` + `requireArgus()`, and the peer that
 * most passport apps write by hand: passport-oauth2's `OAuth2Strategy` with a guard that
 * refreshes through passport-oauth2-refresh. Servers listen before the apps are built,
 * so that the emulator can be told their exact callback URLs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import express, { type Express, type RequestHandler } from 'express';
import session, { MemoryStore, type Store } from 'express-session';
import { Passport } from 'passport';
import OAuth2Strategy from 'passport-oauth2';
import {
  type ArgusStrategyOptions,
  type ArgusVerify,
  ArgusStrategy,
  type RefreshCoordinator,
  type RequireArgusOptions,
  requireArgus,
} from 'passport-argus';
import { CLIENT_ID, CLIENT_SECRET, SECRET } from '../../test/helpers/app.ts';
import { Browser, inputValue } from '../../test/helpers/browser.ts';

export { CLIENT_ID, CLIENT_SECRET, SECRET };

/** A server listening on loopback with no app yet. */
export interface Listening {
  server: Server;
  url: string;
  callbackURL: string;
  /** Serves `app` on this server. */
  mount(app: Express): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0. */
export async function listen(): Promise<Listening> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    callbackURL: `${url}/oauth/callback`,
    mount: (app) => {
      server.on('request', app);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const home: RequestHandler = (req, res) => {
  const user = req.user as { username?: string; userName?: string } | undefined;
  res.type('text').send(user ? `home of ${user.username ?? user.userName}` : 'home');
};

const me: RequestHandler = (req, res) => {
  res.json({ ok: true, user: (req.user as { username?: string } | undefined)?.username });
};

/** Options of {@link argusApp}. */
export interface ArgusAppOptions {
  emulatorURL: string;
  callbackURL: string;
  store?: Store;
  coordinator?: RefreshCoordinator;
  guard?: RequireArgusOptions;
  strategy?: Partial<ArgusStrategyOptions>;
}

/**
 * The user both login apps keep in the session: its user name (each library keeps the
 * tokens its own way), so that the benchmarks compare the libraries, not what an app
 * chooses to store (the whole profile, `_json` included, is three times the record).
 */
const keepUserName: ArgusVerify = (_tokens, profile, done) => {
  done(null, { username: profile?.username ?? 'unknown' });
};

/** An Express app with ArgusStrategy: `/login`, `/oauth/callback`, `/` and `/app/me` behind `requireArgus()`. */
export function argusApp(options: ArgusAppOptions): { app: Express; strategy: ArgusStrategy } {
  const strategy = new ArgusStrategy(
    {
      clientID: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackURL: options.callbackURL,
      portalURL: options.emulatorURL,
      apiURL: options.emulatorURL,
      ...(options.coordinator ? { coordinator: options.coordinator } : {}),
      ...options.strategy,
    } as ArgusStrategyOptions,
    keepUserName,
  );
  const passport = new Passport();
  passport.use(strategy);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));
  const app = express();
  app.use(
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store: options.store ?? new MemoryStore(),
    }),
  );
  app.use(passport.session());
  app.get('/', home);
  app.get('/login', passport.authenticate('argus'));
  app.get(
    '/oauth/callback',
    passport.authenticate('argus', { successReturnToOrRedirect: '/', failureRedirect: '/failed' }),
  );
  app.use('/app', requireArgus({ strategy, ...options.guard }));
  app.get('/app/me', me);
  return { app, strategy };
}

/** The user object of the bare app: the tokens ride in it, as in most such apps. */
interface BareUser {
  username: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

type RefreshCallback = (
  error: unknown,
  accessToken?: string,
  refreshToken?: string,
  results?: { expires_in?: number },
) => void;
interface OAuth2Refresh {
  use(name: string, strategy: unknown): void;
  requestNewAccessToken(name: string, refreshToken: string, done: RefreshCallback): void;
}

/** passport-oauth2 with the profile call that named strategies (GitHub, Google…) add. */
class ProfileStrategy extends OAuth2Strategy {
  // A plain property: passport calls the methods on a per-request Object.create() of the strategy.
  readonly profileURL: string | undefined;

  constructor(
    options: OAuth2Strategy.StrategyOptions,
    verify: OAuth2Strategy.VerifyFunction,
    profileURL?: string,
  ) {
    super(options, verify);
    this.profileURL = profileURL;
    this._oauth2.useAuthorizationHeaderforGET(true);
  }

  override userProfile(
    accessToken: string,
    done: (error?: unknown, profile?: unknown) => void,
  ): void {
    const url = this.profileURL;
    if (url === undefined) {
      done(null, {});
      return;
    }
    this._oauth2.get(url, accessToken, (error, body) => {
      if (error) {
        done(error);
        return;
      }
      try {
        const json = JSON.parse(String(body)) as { data?: { userName?: string } };
        done(null, { username: json.data?.userName });
      } catch (parseError) {
        done(parseError);
      }
    });
  }
}

/** The headers ArgusStrategy puts on the login's redirects, as an app would add them. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

/** Options of {@link bareApp}. */
export interface BareAppOptions {
  emulatorURL: string;
  callbackURL: string;
  /** Fetch `/currentuser/v1/user` at login, as ArgusStrategy does. Default true. */
  profile?: boolean;
  /**
   * The login's security work that passport-oauth2 offers or an app adds by hand, as
   * ArgusStrategy does it by default: PKCE S256 (passport-oauth2's `pkce: true`) and
   * `Cache-Control: no-store`, `Pragma: no-cache` and `Referrer-Policy: no-referrer` on
   * `/login` and the callback. Default false.
   */
  secured?: boolean;
  /** Refresh this long before expiry, in ms, like requireArgus's default. Default 60000. */
  refreshWindow?: number;
}

/**
 * The hand-written peer: passport-oauth2 (`state: true`), tokens in the user object, and
 * a guard in which every request that sees an expiring token refreshes it itself with
 * passport-oauth2-refresh.
 */
export function bareApp(options: BareAppOptions): Express {
  const require = createRequire(import.meta.url);
  const refresh = require('passport-oauth2-refresh') as OAuth2Refresh;
  const window = options.refreshWindow ?? 60_000;
  const strategy = new ProfileStrategy(
    {
      authorizationURL: `${options.emulatorURL}/spa/oauth/authorize`,
      tokenURL: `${options.emulatorURL}/authentication/v1/oauth/token`,
      clientID: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      callbackURL: options.callbackURL,
      state: true,
      ...(options.secured ? { pkce: true } : {}),
    },
    (accessToken, refreshToken, params, profile, done) => {
      const user: BareUser = {
        username: (profile as { username?: string }).username ?? 'unknown',
        accessToken,
        refreshToken,
        expiresAt: Date.now() + Number(params.expires_in) * 1000,
      };
      done(null, user);
    },
    options.profile === false ? undefined : `${options.emulatorURL}/currentuser/v1/user`,
  );
  const passport = new Passport();
  passport.use('argus', strategy);
  refresh.use('argus', strategy);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  const guard: RequestHandler = (req, res, next) => {
    const user = req.user as BareUser | undefined;
    if (user === undefined) {
      res.status(401).json({ error: 'login_required' });
      return;
    }
    if (user.expiresAt - Date.now() > window) return next();
    refresh.requestNewAccessToken(
      'argus',
      user.refreshToken,
      (error, accessToken, refreshToken, results) => {
        if (error || accessToken === undefined) {
          res.status(401).json({ error: 'session_expired' });
          return;
        }
        // req.user is the object in the session: changing it saves the session.
        user.accessToken = accessToken;
        if (refreshToken) user.refreshToken = refreshToken;
        user.expiresAt = Date.now() + Number(results?.expires_in ?? 300) * 1000;
        next();
      },
    );
  };

  const app = express();
  app.use(
    session({ secret: SECRET, resave: false, saveUninitialized: false, store: new MemoryStore() }),
  );
  app.use(passport.session());
  app.get('/', home);
  if (options.secured) app.use(['/login', '/oauth/callback'], noStore);
  app.get('/login', passport.authenticate('argus'));
  app.get(
    '/oauth/callback',
    passport.authenticate('argus', { successRedirect: '/', failureRedirect: '/failed' }),
  );
  app.use('/app', guard);
  app.get('/app/me', me);
  return app;
}

/**
 * Logs `alice` in through the app's `/login` and the Argus login form, like a user with a
 * new browser, and checks that she landed on the app's home page.
 */
export async function loginThrough(
  appURL: string,
  emulatorURL: string,
  browser = new Browser(),
): Promise<Browser> {
  const form = await browser.follow(`${appURL}/login`);
  if (form.status !== 200 || !form.url.includes('/spa/login')) {
    throw new Error(`expected the Argus login form, got ${form.status}`);
  }
  const landing = await browser.follow(`${emulatorURL}/spa/login`, {
    form: {
      username: 'alice',
      password: 'alice-password',
      return: inputValue(form.body, 'return') ?? '',
    },
  });
  if (landing.status !== 200 || !landing.body.startsWith('home of ')) {
    throw new Error(`the login ended with ${landing.status} at ${new URL(landing.url).pathname}`);
  }
  return browser;
}
