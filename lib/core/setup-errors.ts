/**
 * The errors of a setup mistake, each saying what to change. A mistake that would fail
 * silently (a redirect loop, a cookie the browser drops, tokens in a cookie) fails loudly
 * instead, on the first request that meets it.
 */
import { ArgusError, ArgusErrorCode } from './errors.ts';

/** No session on the request: the session middleware is missing or mounted after passport-argus. */
export function sessionRequiredError(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.SESSION_REQUIRED,
    'passport-argus found no session on this request: mount requireArgus() and the login routes after ' +
      'the session middleware (express-session; Koa: koa-session with a store) and passport.session(), e.g. ' +
      'app.use(session({ secret, resave: false, saveUninitialized: false })); app.use(passport.session()); ' +
      "app.use('/app', requireArgus())",
  );
}

/**
 * The session holds a logged-in passport user but `req.user` is unset: `passport.session()`
 * is missing, so every protected request would send the user to log in again, each time
 * with a real code exchange.
 */
export function passportSessionMissingError(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.MISCONFIGURED,
    'The session holds a logged-in user but req.user is not set: add passport.session() after the ' +
      'session middleware and before requireArgus(), e.g. app.use(passport.session()) (Koa: app.use(passport.session()) after koa-session)',
  );
}

/**
 * The login starts over plain http while the session cookie is `secure`: the browser drops
 * the cookie, and the callback would find no login under way.
 */
export function secureCookieOverHttpError(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.MISCONFIGURED,
    'The session cookie is secure but this login request came over http, so the browser will not keep ' +
      'the cookie and the login cannot finish. Serve https (behind a proxy: set trust proxy / app.proxy), or ' +
      "set cookie.secure only in production (e.g. secure: process.env.NODE_ENV === 'production')",
  );
}

/**
 * An Express session without a server-side store (cookie-session): the token set would
 * travel to the browser in the cookie.
 */
export function serverSessionRequiredError(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.MISCONFIGURED,
    'passport-argus needs a server-side session (express-session with a store): this session keeps its ' +
      'data in the cookie itself (cookie-session?), which would send the Argus token set to the browser. ' +
      'Use express-session, with a shared store such as connect-redis in production',
  );
}

/**
 * Why a callback found no login under way and no logged-in user in its session: most
 * likely the session cookie did not come back with it.
 */
export function cookieLostReason(): string {
  return (
    'the callback came without the session cookie of its login (likely causes: a secure cookie over ' +
    'http, a SameSite=strict cookie, or a callbackURL on another host name than the one the login ' +
    'started on)'
  );
}
