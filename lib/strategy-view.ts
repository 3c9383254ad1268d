/**
 * What a strategy shows when it is logged or serialized whole. passport keeps its
 * instance, strategies included, on every request (`req._passport.instance`, which
 * koa-passport puts in `ctx.state`), so `JSON.stringify(ctx.state)` or a logger that
 * inspects a request reaches the strategy, and with it the client secret that
 * passport-oauth2's base (`_oauth2`) and the validated options hold. There it shows this
 * view instead: its name and its public settings.
 */
import type { ResolvedOptions } from './core/options.ts';

/** The public face of an `ArgusStrategy` in logs and JSON: nothing secret. */
export interface ArgusStrategyView {
  /** The strategy's passport name. */
  name: string;
  /** The OAuth2 client's id (public: it travels in every authorize URL). */
  clientID: string;
  callbackURL: string;
  portalURL: string;
  apiURL: string;
}

/** The view of a strategy named `name` with the validated `options`. */
export function strategyView(name: string, options: ResolvedOptions): ArgusStrategyView {
  return {
    name,
    clientID: options.clientID,
    callbackURL: options.callbackURL.href,
    portalURL: options.portalURL.href,
    apiURL: options.apiURL.href,
  };
}
