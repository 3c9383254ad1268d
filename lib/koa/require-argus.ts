/**
 * `requireArgus()` for Koa: protects routes, keeps the Argus session alive, and logs the
 * user out when Argus says no. The same rules and answers as the Express version.
 */
import './augment.ts';
import type { Middleware } from 'koa';
import { type DenialReason, denial, unavailable } from '../core/answers.ts';
import { isFresh } from '../core/argus-context.ts';
import { passportSessionMissingError, sessionRequiredError } from '../core/errors.ts';
import {
  isPageRequest,
  type RequireArgusOptions,
  resolveGuardSettings,
} from '../core/guard-settings.ts';
import { hasPassportUser, readTokens } from '../core/session-record.ts';
import { gateStore } from '../core/store-gate.ts';
import { safeReturnTo } from '../core/urls.ts';
import { strategyResolver } from '../strategy-registry.ts';
import { send } from './answer.ts';
import { type DeploymentFacts, warnAboutDeployment } from '../core/warnings.ts';
import { KoaArgusContext, type KoaContext, sessionOf, sessionOptionsOf } from './context.ts';
import { cookieSessionError, keepsRecordInCookie } from './session.ts';

/**
 * Protects the middleware after it, for Koa with koa-session (with an external store) and
 * koa-passport.
 *
 * - Not logged in: a page request (GET or HEAD whose `Accept` prefers HTML to JSON, as
 *   `ctx.accepts()` negotiates it; a tie goes to JSON) is redirected to `loginURL` and
 *   comes back to the page after the login (`ctx.session.returnTo`); any other request
 *   gets `401 {"error":"login_required"}`.
 * - Logged in, token outside the refresh window: goes on at once, with `ctx.state.argus`.
 * - Token inside the window or expired: refreshed first; concurrent requests of one
 *   session share one refresh call.
 * - Argus rejects the refresh: the user is logged out (koa-passport logout, session record
 *   destroyed in the store, cookie cleared) and answered as not logged in
 *   (`session_expired`).
 * - Argus unavailable: the session is kept; the request goes on while the old token is
 *   valid, else gets `503` with `Retry-After`.
 *
 * The session cookie cleared at logout defaults to `'koa.sess'`, koa-session's default.
 * A koa-session without a `store` is refused with an `ARGUS_MISCONFIGURED` error: the
 * token set must stay on the server.
 *
 * @example
 * ```ts
 * import { requireArgus } from 'passport-argus/koa';
 *
 * router.get('/app/me', requireArgus(), async (ctx) => {
 *   ctx.body = await ctx.state.argus.json('/currentuser/v1/user');
 * });
 * ```
 */
export function requireArgus(options: RequireArgusOptions = {}): Middleware {
  const settings = resolveGuardSettings(options, 'koa.sess');
  const resolve = strategyResolver(options.strategy, 'requireArgus');

  function deny(ctx: KoaContext, reason: DenialReason): void {
    const page = isPageRequest(ctx.method, (types) => ctx.accepts(types));
    const session = sessionOf(ctx);
    if (page && session != null) {
      // undefined (no safe path) is kept apart from '/': the login then uses its own default.
      const returnTo = safeReturnTo(ctx.originalUrl);
      if (returnTo === undefined) delete session.returnTo;
      else session.returnTo = returnTo;
    }
    send(ctx, denial(reason, page, settings.loginURL));
  }

  // The setup is checked on the first request only: later requests pay one boolean.
  let unchecked = true;
  let ungated = true;

  return async function requireArgusMiddleware(ctx, next) {
    const session = sessionOf(ctx);
    if (session === undefined) throw sessionRequiredError();
    if (session !== null && keepsRecordInCookie(session)) throw cookieSessionError();
    if (unchecked) {
      unchecked = false;
      warnAboutDeployment(deploymentFacts(ctx));
    }
    const tokens = readTokens(session ?? undefined);
    if (tokens === undefined || ctx.state.user == null) {
      // Logged in, but nobody deserialized the user: without this error every request
      // would go back to the login, each time with a real code exchange.
      if (tokens !== undefined && hasPassportUser(session ?? undefined)) {
        throw passportSessionMissingError();
      }
      return deny(ctx, 'login_required');
    }
    const engine = resolve().engine;
    // A set sealed with a key this strategy does not hold is no set: told without decrypting.
    if (!engine.vault.mayOpen(tokens)) return deny(ctx, 'login_required');
    if (ungated) {
      // From now on no save of a logged-out session's copy reaches the store.
      ungated = false;
      gateStore(sessionOptionsOf(ctx)?.store, engine);
    }
    if (settings.noStore) ctx.set('cache-control', 'no-store');
    const context = new KoaArgusContext(engine, settings, ctx);
    ctx.state.argus = context;
    if (isFresh(tokens, Date.now(), settings, session ?? undefined)) return next();
    const outcome = await context.ensureFresh();
    if (outcome.type === 'ok') return next();
    if (outcome.type === 'logged_out') return deny(ctx, 'session_expired');
    send(
      ctx,
      unavailable(
        isPageRequest(ctx.method, (types) => ctx.accepts(types)),
        settings.retryAfterSeconds,
      ),
    );
  };
}

/** What a Koa context tells about the app's setup, for the deployment warnings. */
function deploymentFacts(ctx: KoaContext): DeploymentFacts {
  const options = sessionOptionsOf(ctx);
  return {
    // koa-session's own default keeps the record in the cookie, which is refused above;
    // an in-memory store cannot be told apart from any other, so it is not warned about.
    memoryStore: false,
    secureRequest: ctx.secure,
    cookieSameSite: options?.sameSite,
    cookieSecure: options?.secure,
    // app.proxy trusts X-Forwarded-For from every hop unless maxIpsCount bounds it.
    trustsEveryProxy: ctx.app.proxy === true && !(ctx.app.maxIpsCount > 0),
  };
}
