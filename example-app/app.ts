/**
 * The example app: home page, "Log in with Argus", a protected page that calls the Argus
 * API, and logout. `createExampleApp` builds it, so tests and the start script share it.
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
import { accountPage, homePage } from './pages.ts';

/** Options of {@link createExampleApp}. */
export interface ExampleAppOptions {
  argus: ArgusStrategyOptions;
  sessionSecret: string;
  /** A shared session store; default: express-session's MemoryStore. */
  store?: Store;
  /** Serve the session cookie with `Secure` (behind https). */
  secureCookie?: boolean;
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
  app.post('/logout', argusLogout({ strategy }));

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
