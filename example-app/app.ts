/**
 * The example app: home page, "Log in with Argus", a protected page that calls the Argus
 * API, logout, and a logged-out page that offers to log out of the Argus portal too.
 * `createExampleApp` builds it, so tests and the start script share it.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import session, { type Store } from 'express-session';
import { Passport } from 'passport';
import {
  type ArgusProfile,
  ArgusStrategy,
  type ArgusStrategyOptions,
  argusLogout,
  isArgusError,
  requireArgus,
} from 'passport-argus';
import { accountPage, homePage, loggedOutPage, type PortalLogoutLink } from './pages.ts';

/** Options of {@link createExampleApp}. */
export interface ExampleAppOptions {
  argus: ArgusStrategyOptions;
  sessionSecret: string;
  /** A shared session store; default: express-session's MemoryStore. */
  store?: Store;
  /** Serve the session cookie with `Secure` (behind https). */
  secureCookie?: boolean;
  /**
   * The path of the Argus portal's logout, under the strategy's `portalURL`, for the
   * logged-out page's "Also log out of Argus". On the emulator it is
   * {@link EMULATOR_PORTAL_LOGOUT_PATH}. Argus documents no portal logout URL, so without
   * this the button leads to the portal home, where the user can log out.
   */
  portalLogoutPath?: string;
}

/** The emulator's portal logout (`GET|POST /spa/logout`): ends the browser's portal login. */
export const EMULATOR_PORTAL_LOGOUT_PATH = '/spa/logout';

/**
 * Where "Also log out of Argus" leads: `portalLogoutPath` under `portalURL` (which may
 * have a path of its own), else the portal home, as no portal logout URL of the real
 * Argus is documented.
 */
export function portalLogoutLink(portalURL: URL, portalLogoutPath?: string): PortalLogoutLink {
  if (portalLogoutPath === undefined) return { href: portalURL.href, atHome: true };
  if (!portalLogoutPath.startsWith('/')) {
    throw new TypeError(`portalLogoutPath must start with "/": ${portalLogoutPath}`);
  }
  const url = new URL(portalURL.href);
  url.pathname = url.pathname.replace(/\/$/, '') + portalLogoutPath;
  return { href: url.href, atHome: false };
}

/** Builds the example Express app and its strategy. */
export function createExampleApp(options: ExampleAppOptions): {
  app: Express;
  strategy: ArgusStrategy;
} {
  const app = express();
  const passport = new Passport();
  const strategy = new ArgusStrategy(options.argus);
  passport.use(strategy);
  // The profile holds no token, so it can live in the session as is.
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  app.disable('x-powered-by');
  app.use(
    session({
      secret: options.sessionSecret,
      resave: false,
      saveUninitialized: false,
      ...(options.store ? { store: options.store } : {}),
      cookie: { httpOnly: true, sameSite: 'lax', secure: options.secureCookie === true },
    }),
  );
  app.use(passport.session());

  app.get('/', (req, res) => {
    res
      .type('html')
      .send(homePage(req.user as ArgusProfile | undefined, req.query.login === 'failed'));
  });
  app.get('/login', passport.authenticate('argus'));
  app.get(
    '/oauth/callback',
    passport.authenticate('argus', {
      successReturnToOrRedirect: '/app',
      failureRedirect: '/?login=failed',
    }),
  );
  // After the logout the user learns that the Argus portal still knows their browser.
  app.post('/logout', argusLogout({ strategy, redirectTo: '/logged-out' }));
  const portalLogout = portalLogoutLink(strategy.argusOptions.portalURL, options.portalLogoutPath);
  app.get('/logged-out', (req, res) => {
    // Someone logged in (again) would be told something untrue here.
    if (req.user) return res.redirect('/');
    res.type('html').send(loggedOutPage(portalLogout));
  });

  app.use('/app', requireArgus({ strategy }));
  app.get('/app', async (req, res, next) => {
    try {
      const user = req.user as ArgusProfile;
      const apiAnswer = await req.argus.json('/currentuser/v1/user');
      res.type('html').send(
        accountPage({
          displayName: user.displayName,
          username: user.username,
          customer: user.customer?.name ?? user.customer?.shortName ?? '—',
          expiresAt: req.argus.expiresAt,
          now: new Date(),
          apiAnswer,
        }),
      );
    } catch (error) {
      next(error);
    }
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    // Typed errors carry the status to answer; their messages hold no secret, but the page
    // shows only the code.
    const status = isArgusError(error) ? error.status : 500;
    res
      .status(status)
      .type('text')
      .send(isArgusError(error) ? `Error: ${error.code}` : 'Internal error');
  };
  app.use(onError);
  return { app, strategy };
}
