/**
 * What passport-argus needs of koa-session, read by shape so that nothing here loads Koa:
 * the strategy uses {@link keepsRecordInCookie} too, and it serves Express apps as well.
 */
import { ArgusError, ArgusErrorCode } from '../core/errors.ts';
import type { SessionRecord } from '../core/session-record.ts';

/** koa-session's `ctx.session` as passport-argus uses it (koa-session ≥ 6.4). */
export interface KoaSession extends SessionRecord {
  /** The session's key in the external store; `undefined` when the record lives in the cookie. */
  readonly externalKey?: string | undefined;
  /** Writes the session to the store now (koa-session 7 resolves once written). */
  save(): Promise<void> | undefined;
  /** Moves the session to a new key; the record under the old key is destroyed. */
  regenerate(): Promise<void> | undefined;
}

/** koa-session's external store, as `ctx.sessionOptions.store` holds it. */
export interface KoaSessionStore {
  get(key: string, maxAge: unknown, options: { rolling: boolean; ctx: unknown }): unknown;
  set(key: string, record: unknown, maxAge: number, options: object): unknown;
  destroy(key: string, options: { ctx: unknown }): unknown;
}

/** koa-session's `ctx.sessionOptions`, the parts read here. */
export interface KoaSessionOptions {
  key?: string;
  maxAge?: unknown;
  rolling?: boolean;
  store?: KoaSessionStore;
  sameSite?: unknown;
  secure?: unknown;
}

/**
 * True for a koa-session record kept in the cookie itself (no `store`): koa-session gives
 * such a session no `externalKey`. An express-session record has no `externalKey` at all.
 */
export function keepsRecordInCookie(session: object): boolean {
  return 'externalKey' in session && session.externalKey === undefined;
}

/**
 * The error for a koa-session without an external store. The token set must stay on the
 * server, and a cookie-only koa-session would send it to the browser in every cookie.
 */
export function cookieSessionError(): ArgusError {
  return new ArgusError(
    ArgusErrorCode.MISCONFIGURED,
    'passport-argus needs koa-session with an external store: the Argus token set must stay on the server, ' +
      'and a cookie-only session would put it in the cookie. Pass one, e.g. app.use(session({ store, key: "koa.sess" }, app))',
  );
}

/**
 * Empties a koa-session record in place. koa-session's `regenerate()` carries the data
 * over to the new key (express-session's starts empty), so a login or logout that
 * regenerates must empty the record first: nothing of the old session may act in the
 * new one. koa-session's own fields (`isNew`, `_…`) stay.
 */
export function emptyKoaRecord(session: SessionRecord): void {
  for (const key of Object.keys(session)) {
    if (key !== 'isNew' && !key.startsWith('_')) delete session[key];
  }
}
