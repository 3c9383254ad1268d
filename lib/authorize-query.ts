/**
 * The query of a login's authorize redirect. Most of it is the same for every login of a
 * strategy (client, redirect URI, response type, default scope): that part is serialised
 * once per options object, and each login adds only its own state and PKCE challenge.
 */
import type { StartedLogin } from './core/login-transactions.ts';
import type { ResolvedOptions } from './core/options.ts';

/** The serialised fixed part, per options object, for logins with the default scope. */
const fixedParts = new WeakMap<ResolvedOptions, string>();

/**
 * The authorize query: the strategy's `extra` parameters (from `authorizationParams`),
 * then `client_id`, `redirect_uri`, `response_type`, `scope` (`scopeOption` or the
 * default), `state` and the PKCE challenge, as URLSearchParams serialises them.
 */
export function authorizeQuery(
  opts: ResolvedOptions,
  extra: object,
  scopeOption: string | string[] | undefined,
  started: StartedLogin,
): string {
  const extras = Object.entries(extra).filter(([, value]) => typeof value === 'string');
  // An extra parameter may share a name with a fixed one and take its place: built whole.
  if (extras.length > 0 || scopeOption !== undefined) {
    return fullQuery(opts, extras as [string, string][], scopeOption, started);
  }
  let fixed = fixedParts.get(opts);
  if (fixed === undefined) {
    fixed = fixedQuery(opts, [], opts.scope).toString();
    fixedParts.set(opts, fixed);
  }
  // A state and a challenge are base64url: serialised, they stay as they are.
  let query = `${fixed}&state=${started.state}`;
  if (started.codeChallenge !== undefined) {
    query += `&code_challenge=${started.codeChallenge}&code_challenge_method=S256`;
  }
  return query;
}

/** The parameters of every login of `opts` with `scope`, after `extras`. */
function fixedQuery(
  opts: ResolvedOptions,
  extras: [string, string][],
  scope: string | undefined,
): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of extras) query.set(key, value);
  query.set('client_id', opts.clientID);
  query.set('redirect_uri', opts.callbackURL.href);
  query.set('response_type', 'code');
  if (scope) query.set('scope', scope);
  return query;
}

/** The whole query, built parameter by parameter. */
function fullQuery(
  opts: ResolvedOptions,
  extras: [string, string][],
  scopeOption: string | string[] | undefined,
  started: StartedLogin,
): string {
  const scope = scopeOption === undefined ? opts.scope : [scopeOption].flat().join(' ');
  const query = fixedQuery(opts, extras, scope);
  query.set('state', started.state);
  if (started.codeChallenge !== undefined) {
    query.set('code_challenge', started.codeChallenge);
    query.set('code_challenge_method', 'S256');
  }
  return query.toString();
}
