/**
 * `argusLogout()` for Koa: ends the Argus session and the local one.
 */
import './augment.ts';
import type { Middleware } from 'koa';
import { json } from '../core/answers.ts';
import {
  type ArgusLogoutOptions,
  resolveGuardSettings,
  resolveLogoutSettings,
  prefersHtml,
} from '../core/guard-settings.ts';
import { strategyResolver } from '../strategy-registry.ts';
import { send } from './answer.ts';
import { KoaArgusContext, sessionOf } from './context.ts';
import { cookieSessionError, keepsRecordInCookie } from './session.ts';

/**
 * Logs the user out: ends the Argus session (`DELETE /authentication/v1/session`, best
 * effort, bounded by the strategy's `timeout`), logs out of koa-passport, destroys the
 * session record in the store, clears the cookie (default `'koa.sess'`), then redirects
 * (303) to `redirectTo` when the request asks for HTML (a form post or a link), or answers
 * `204` otherwise. POST only, unless `allowGet`. It ends the request: it never calls
 * `next`.
 *
 * @example
 * ```ts
 * import { argusLogout } from 'passport-argus/koa';
 *
 * router.post('/logout', argusLogout({ redirectTo: '/' }));
 * ```
 */
export function argusLogout(options: ArgusLogoutOptions = {}): Middleware {
  const settings = resolveLogoutSettings(options, 'koa.sess');
  const guard = resolveGuardSettings({ cookieName: settings.cookieName }, settings.cookieName);
  const resolve = strategyResolver(options.strategy, 'argusLogout');
  const allowed = settings.allowGet ? 'GET, HEAD, POST' : 'POST';

  return async function argusLogoutMiddleware(ctx) {
    const method = ctx.method;
    if (method !== 'POST' && !(settings.allowGet && (method === 'GET' || method === 'HEAD'))) {
      ctx.set('Allow', allowed);
      return send(ctx, json(405, { error: 'method_not_allowed' }));
    }
    const session = sessionOf(ctx);
    if (session != null) {
      if (keepsRecordInCookie(session)) throw cookieSessionError();
      await new KoaArgusContext(resolve().engine, guard, ctx).logout();
    }
    ctx.set('Cache-Control', 'no-store');
    if (prefersHtml((types) => ctx.accepts(types))) {
      ctx.status = 303;
      ctx.set('Location', settings.redirectTo);
      ctx.body = '';
      ctx.remove('Content-Type');
      return;
    }
    ctx.status = 204;
  };
}
