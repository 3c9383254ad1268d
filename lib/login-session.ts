/**
 * The session a login creates: what it receives from the login (the token set, the page
 * to return to, the landing pages of other tabs' logins) and where the login lands.
 */
import type { LoginTransaction, StoredLanding } from './core/login-transactions.ts';
import { LANDINGS_KEY, LOGINS_KEY, writeTokens } from './core/session-record.ts';
import type { ArgusTokenSet } from './core/token-set.ts';
import { emptyKoaRecord } from './koa/session.ts';
import type { AuthRequest, LogIn } from './callback-http.ts';

/**
 * passport's login regenerates the session (session fixation defence), dropping what
 * the old one held. Wrap this request's `logIn` so that, once the new session exists,
 * it receives the token set and the page to return to — and nothing else of the
 * pre-login session that could act: other logins under way there (which whoever planted
 * the cookie may have started) keep only their landing pages, so a late callback of one
 * lands on its page without an exchange. `loggedIn` runs once the new session exists.
 */
export function keepTokensAcrossLogin(
  req: AuthRequest,
  tokens: ArgusTokenSet,
  txn: LoginTransaction,
  landings: StoredLanding[] | undefined,
  loggedIn: () => void,
): void {
  const original = req.logIn;
  if (typeof original !== 'function') {
    fillSession(req, tokens, txn, landings);
    loggedIn();
    return;
  }
  // Assigned where it is made (see CONTRIBUTING.md, Code).
  req.logIn = req.login = ((user, options, done) => {
    const callback = typeof options === 'function' ? (options as (e?: unknown) => void) : done;
    const opts = typeof options === 'function' ? {} : options;
    req.logIn = req.login = original;
    // koa-session's regenerate keeps the record's data under the new key: empty it
    // first, as the logout does.
    const old = req.session;
    if (req.ctx !== undefined && typeof old === 'object' && old !== null) emptyKoaRecord(old);
    original.call(req, user, opts, (error?: unknown) => {
      if (!error) {
        fillSession(req, tokens, txn, landings);
        loggedIn();
      }
      callback?.(error);
    });
  }) satisfies LogIn;
}

/** Gives the session the login created what it keeps of the login: see {@link keepTokensAcrossLogin}. */
function fillSession(
  req: AuthRequest,
  tokens: ArgusTokenSet,
  txn: LoginTransaction,
  landings: StoredLanding[] | undefined,
): void {
  const fresh = req.session;
  if (typeof fresh !== 'object' || fresh === null) return;
  delete fresh[LOGINS_KEY];
  if (landings === undefined) delete fresh[LANDINGS_KEY];
  else fresh[LANDINGS_KEY] = landings;
  writeTokens(fresh, tokens);
  if (txn.returnTo !== undefined) fresh.returnTo = txn.returnTo;
  else delete fresh.returnTo;
}

/**
 * Where a login lands: its own return path, else passport's `successReturnToOrRedirect`
 * or `successRedirect`, else `/`.
 */
export function successTarget(
  txn: { returnTo?: string } | undefined,
  options: Record<string, unknown>,
): string {
  if (txn?.returnTo !== undefined) return txn.returnTo;
  for (const name of ['successReturnToOrRedirect', 'successRedirect'] as const) {
    const value = options[name];
    if (typeof value === 'string') return value;
  }
  return '/';
}
