/**
 * `requireArgus()` for Express: protects routes, keeps the Argus session alive, and
 * logs the user out when Argus says no.
 */
import './augment.ts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type DenialReason, denial, unavailable } from '../core/answers.ts';
import { isFresh } from '../core/argus-context.ts';
import {
  passportSessionMissingError,
  serverSessionRequiredError,
  sessionRequiredError,
} from '../core/errors.ts';
import {
  isPageRequest,
  type RequireArgusOptions,
  resolveGuardSettings,
} from '../core/guard-settings.ts';
import { hasPassportUser, readTokens, type SessionRecord } from '../core/session-record.ts';
import { gateStore } from '../core/store-gate.ts';
import { safeReturnTo } from '../core/urls.ts';
import { type DeploymentFacts, warnAboutDeployment } from '../core/warnings.ts';
import { strategyResolver } from '../strategy-registry.ts';
import { send } from './answer.ts';
import { ExpressArgusContext } from './context.ts';
import { ContextBinding, provideArgus } from './lazy-context.ts';
import { uncachedRead } from './uncached-read.ts';

/**
 * Protects the routes after it.
 *
 * - Not logged in: a page request (GET or HEAD whose `Accept` prefers HTML to JSON, as
 *   `req.accepts()` negotiates it; a tie goes to JSON) is redirected to `loginURL` and
 *   comes back to the page after the login; any other request gets
 *   `401 {"error":"login_required"}`.
 * - Logged in, token outside the refresh window: goes on at once, with `req.argus`.
 * - Token inside the window or expired: refreshed first; concurrent requests of one
 *   session share one refresh call.
 * - Argus rejects the refresh: the user is logged out (passport logout, session record
 *   destroyed, cookie cleared) and answered as not logged in (`session_expired`).
 * - Argus unavailable: the session is kept; the request goes on while the old token is
 *   valid, else gets `503` with `Retry-After`.
 *
 * @example
 * ```ts
 * app.use('/app', requireArgus({ refreshWindow: 60_000 }));
 * app.get('/app/me', async (req, res) => res.json(await req.argus.json('/currentuser/v1/user')));
 * ```
 */
export function requireArgus(options: RequireArgusOptions = {}): RequestHandler {
  const settings = resolveGuardSettings(options, 'connect.sid');
  const resolve = strategyResolver(options.strategy, 'requireArgus');

  function deny(req: Request, res: Response, reason: DenialReason): void {
    const page = isPageRequest(req.method, (types) => req.accepts(types));
    const session = req.session as unknown as SessionRecord | undefined;
    if (page && session !== undefined) {
      // undefined (no safe path) is kept apart from '/': the login then uses its own default.
      const returnTo = safeReturnTo(req.originalUrl);
      if (returnTo === undefined) delete session.returnTo;
      else session.returnTo = returnTo;
    }
    send(res, denial(reason, page, settings.loginURL));
  }

  // The setup is checked on the first request only: later requests pay one boolean.
  let unchecked = true;
  let ungated = true;
  // What `req.argus` is built from: one object for every request this guard lets through,
  // made once the strategy is found (the strategy found first stays this guard's: see
  // strategyResolver).
  let binding: ContextBinding | undefined;

  return function requireArgusMiddleware(req: Request, res: Response, next: NextFunction) {
    // The request and the response are read with uncachedRead: see there why.
    const session = uncachedRead(req, 'session') as unknown as SessionRecord | undefined;
    if (session === undefined) return next(sessionRequiredError());
    if (unchecked) {
      // cookie-session has no store: the token set would travel in the cookie.
      if (req.sessionStore === undefined) return next(serverSessionRequiredError());
      unchecked = false;
      warnAboutDeployment(deploymentFacts(req));
    }
    const tokens = readTokens(session);
    if (tokens === undefined || uncachedRead(req, 'user') == null) {
      // Logged in, but nobody deserialized the user: without this error every request
      // would go back to the login, each time with a real code exchange.
      if (tokens !== undefined && hasPassportUser(session)) {
        return next(passportSessionMissingError());
      }
      return deny(req, res, 'login_required');
    }
    if (binding === undefined) {
      try {
        binding = new ContextBinding(resolve().engine, settings);
      } catch (error) {
        return next(error);
      }
    }
    const engine = binding.engine;
    // A set sealed with a key this strategy does not hold is no set: told without decrypting.
    if (!binding.vault.mayOpen(tokens)) return deny(req, res, 'login_required');
    if (ungated) {
      // From now on no save of a logged-out session's copy reaches the store.
      ungated = false;
      gateStore(req.sessionStore, engine);
    }
    // Pages behind the guard hold the user's data: no cache may keep them.
    if (settings.noStore) uncachedRead(res, 'setHeader').call(res, 'cache-control', 'no-store');
    if (isFresh(tokens, Date.now(), settings, session)) {
      provideArgus(req, res, binding);
      return next();
    }
    const context = new ExpressArgusContext(engine, settings, req, res);
    req.argus = context;
    context.ensureFresh().then((outcome) => {
      if (outcome.type === 'ok') next();
      else if (outcome.type === 'logged_out') deny(req, res, 'session_expired');
      else
        send(
          res,
          unavailable(
            isPageRequest(req.method, (types) => req.accepts(types)),
            settings.retryAfterSeconds,
          ),
        );
    }, next);
  };
}

/** What an Express request tells about the app's setup, for the deployment warnings. */
function deploymentFacts(req: Request): DeploymentFacts {
  const cookie = req.session.cookie;
  return {
    memoryStore: req.sessionStore?.constructor?.name === 'MemoryStore',
    secureRequest: req.secure,
    cookieSameSite: cookie?.sameSite,
    cookieSecure: cookie?.secure,
    trustsEveryProxy: req.app.get('trust proxy') === true,
  };
}
