/**
 * What passport-argus keeps in the session record, under keys of its own: `argus` (the
 * token set), `argusCheckedAt` (when Argus last said the session was alive),
 * `argusLogins` (logins under way, by `state`) and `argusLandings`.
 * The session record is whatever the app's session middleware loads; it is treated as
 * untrusted input, since a store can hold anything.
 */
import { isJsonObject } from './http-client.ts';
import type { ArgusTokenSet } from './token-set.ts';
import {
  isStoredTokens,
  type StoredTokens,
  type TokenTimes,
  type TokenVault,
} from './token-vault.ts';

/** The session key of the token set. */
export const TOKENS_KEY = 'argus';
/**
 * The session key of the time (ms since the epoch) Argus last answered a session check
 * with 200: in clear beside the token set, sealed or not, so that the guard decides
 * whether a check is due by one comparison, and every instance sharing the store sees it.
 */
export const CHECKED_KEY = 'argusCheckedAt';

/** The session key of the logins under way: a list of `{ state, createdAt, verifier?, returnTo? }`. */
export const LOGINS_KEY = 'argusLogins';

/**
 * The session key of the landing pages of other tabs' logins that were under way when
 * the user logged in: a list of `{ key, createdAt, returnTo? }`, where `key` is a
 * fingerprint of the state. Nothing in it could complete a login.
 */
export const LANDINGS_KEY = 'argusLandings';

/** A session record as passport-argus sees it: a plain object. */
export type SessionRecord = Record<string, unknown>;

/**
 * The token set in a session record as stored, if there is one of a valid shape: in
 * clear, or sealed (then its times are readable, its tokens only through
 * {@link TokenVault.open}). Nothing is decrypted here: the guard calls it on every request.
 */
export function readTokens(session: SessionRecord | undefined): StoredTokens | undefined {
  const value = session?.[TOKENS_KEY];
  return isStoredTokens(value) ? value : undefined;
}

/** True when passport's login left a user in the record (`passport.user`). */
export function hasPassportUser(session: object | undefined): boolean {
  const passport = (session as { passport?: unknown } | undefined)?.passport;
  return isJsonObject(passport) && passport.user != null;
}

/**
 * Stores a token set in a session record, in clear: the record is this request's copy in
 * memory. What reaches the session store is sealed on the way (see
 * {@link sealedForStore}).
 */
export function writeTokens(session: SessionRecord, tokens: ArgusTokenSet): void {
  session[TOKENS_KEY] = tokens;
}

/**
 * `record` as the store should receive it for session `sessionId`: with its token set
 * sealed by `vault` when that vault seals. A copy when the token set changes form, so
 * that the request's own record is left as it was; else `record` itself.
 */
export function sealedForStore(
  record: SessionRecord,
  vault: TokenVault,
  sessionId: string,
): SessionRecord {
  const sealed = vault.forStore(record[TOKENS_KEY], sessionId);
  return sealed === undefined ? record : { ...record, [TOKENS_KEY]: sealed };
}

/**
 * When Argus last vouched for the session of a record: the later of its last session check
 * and when its token set was obtained (a login or a refresh is Argus vouching too). A
 * check time that is not a number is no check.
 */
export function lastVouchedAt(session: SessionRecord | undefined, times: TokenTimes): number {
  const checked = session?.[CHECKED_KEY];
  return typeof checked === 'number' && checked > times.obtainedAt ? checked : times.obtainedAt;
}

/** Records in a session record that Argus answered a session check with 200 at `at`. */
export function writeCheckedAt(session: SessionRecord, at: number): void {
  session[CHECKED_KEY] = at;
}

/** Removes the token set from a session record. */
export function clearTokens(session: SessionRecord): void {
  delete session[TOKENS_KEY];
  delete session[CHECKED_KEY];
}

/**
 * The logins under way in a session record as stored: a list of records (or, written by
 * 0.1, an object keyed by state), unchecked.
 */
export function readLogins(
  session: SessionRecord | undefined,
): unknown[] | Record<string, unknown> | undefined {
  const value = session?.[LOGINS_KEY];
  return Array.isArray(value) || isJsonObject(value) ? value : undefined;
}
