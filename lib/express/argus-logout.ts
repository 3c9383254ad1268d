/**
 * `argusLogout()` for Express: ends the Argus session and the local one.
 */
import './augment.ts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from '../core/answers.ts';
import {
  type ArgusLogoutOptions,
  resolveGuardSettings,
  resolveLogoutSettings,
  prefersHtml,
} from '../core/guard-settings.ts';
import { strategyResolver } from '../strategy-registry.ts';
import { send } from './answer.ts';
import { ExpressArgusContext } from './context.ts';

/**
 * Logs the user out: ends the Argus session (`DELETE /authentication/v1/session`, best
 * effort, bounded by the strategy's `timeout`), logs out of passport, destroys the session
 * record, clears the cookie, then redirects (303) to `redirectTo` when the request asks for
 * HTML (a form post or a link), or answers `204` otherwise. POST only, unless `allowGet`.
 *
 * @example
 * ```ts
 * app.post('/logout', argusLogout({ redirectTo: '/' }));
 * ```
 */
export function argusLogout(options: ArgusLogoutOptions = {}): RequestHandler {
  const settings = resolveLogoutSettings(options, 'connect.sid');
  const guard = resolveGuardSettings({ cookieName: settings.cookieName }, settings.cookieName);
  const resolve = strategyResolver(options.strategy, 'argusLogout');
  const allowed = settings.allowGet ? 'GET, HEAD, POST' : 'POST';

  return async function argusLogoutMiddleware(req: Request, res: Response, next: NextFunction) {
    const method = req.method;
    if (method !== 'POST' && !(settings.allowGet && (method === 'GET' || method === 'HEAD'))) {
      res.setHeader('Allow', allowed);
      return send(res, json(405, { error: 'method_not_allowed' }));
    }
    try {
      if (req.session !== undefined) {
        await new ExpressArgusContext(resolve().engine, guard, req, res).logout();
      }
    } catch (error) {
      return next(error);
    }
    res.setHeader('Cache-Control', 'no-store');
    if (prefersHtml((types) => req.accepts(types))) return res.redirect(303, settings.redirectTo);
    res.status(204).end();
  };
}
