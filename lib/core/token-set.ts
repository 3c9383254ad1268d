/**
 * The token set kept in the server-side session, and the strict reading of a token
 * answer from Argus.
 */
import { ArgusError, ArgusErrorCode } from './errors.ts';
import { type ArgusAnswer, errorFromAnswer, isJsonObject, parseJson } from './http-client.ts';

/**
 * The Argus tokens of one logged-in user, as stored in the session record. Times are
 * milliseconds since the epoch, so the record stays plain JSON in any session store.
 * It never leaves the server: not in `req.user`, a cookie, a page or a log line.
 */
export interface ArgusTokenSet {
  /** The bearer token for Argus API calls. */
  accessToken: string;
  /** The refresh token, when Argus issued one. */
  refreshToken?: string;
  /** Always `'Bearer'`. */
  tokenType: 'Bearer';
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  /** When this access token was obtained, at login or by the last refresh (ms since the epoch). */
  obtainedAt: number;
  /** When the user logged in (ms since the epoch); kept across refreshes. */
  loggedInAt: number;
  /** The scope Argus granted, when it said. */
  scope?: string;
}

/**
 * The longest access token lifetime believed, in seconds: one year. Argus issues tokens
 * for 300 s; a larger `expires_in` says "long-lived" (some servers send a huge number for
 * "never expires") and is read as one year, which keeps every expiry a valid `Date` and
 * still gets the token refreshed at Argus's first 401.
 */
const MAX_EXPIRES_IN = 365 * 24 * 60 * 60;

/** The largest time a `Date` can hold, in ms either side of the epoch (ECMA-262 §21.4.1.1). */
const MAX_TIME = 8.64e15;

/** A number of ms since the epoch that makes a valid `Date`. */
export function isTime(value: unknown): value is number {
  // Two comparisons, which NaN and the infinities fail: the guard asks this on every
  // request, and unoptimised code pays for each call to Number.isFinite or Math.abs.
  return typeof value === 'number' && value >= -MAX_TIME && value <= MAX_TIME;
}

/** Reading options for {@link readTokenAnswer}. */
export interface TokenAnswerOptions {
  /** Lifetime to assume when Argus sends no `expires_in`, in ms. */
  defaultLifetime: number;
  /** The time the answer arrived (ms since the epoch). */
  now: number;
  /** What the call was for, for messages ("token exchange", "token refresh"). */
  purpose: string;
  /** The set being refreshed: its refresh token is kept when the answer has none. */
  previous?: ArgusTokenSet | undefined;
}

/**
 * Reads a token answer strictly: HTTP 200, a JSON object, a non-empty string
 * `access_token`, `token_type` Bearer in any case, `expires_in` absent or a finite number
 * ≥ 0, `refresh_token` absent, null or a non-empty string. Anything else is a typed
 * error, and no part of the answer reaches the message.
 *
 * An `expires_in` above one year (31 536 000 s) is clamped to one year rather than
 * refused: the answer is well formed, and a longer lifetime than that would only postpone
 * the refresh, not make the token any more valid. So `expiresAt` is always a valid time.
 *
 * A new refresh token replaces the old one; an absent one keeps the old one.
 *
 * @see RFC 6749 §5.1, §6 and §7.1
 */
export function readTokenAnswer(answer: ArgusAnswer, options: TokenAnswerOptions): ArgusTokenSet {
  const { purpose } = options;
  if (answer.status !== 200) throw errorFromAnswer(answer, purpose);
  const json = parseJson(answer, purpose);
  if (!isJsonObject(json)) throw badAnswer(answer, purpose, 'JSON that is not an object');
  const accessToken = json.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw badAnswer(answer, purpose, 'no usable access_token');
  }
  if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') {
    throw badAnswer(answer, purpose, 'a token_type other than Bearer');
  }
  const expiresIn = json.expires_in;
  let lifetime = options.defaultLifetime;
  if (expiresIn !== undefined && expiresIn !== null) {
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) {
      throw badAnswer(answer, purpose, 'an expires_in that is not a finite number of seconds');
    }
    lifetime = Math.min(expiresIn, MAX_EXPIRES_IN) * 1000;
  }
  const refresh = json.refresh_token;
  if (
    refresh !== undefined &&
    refresh !== null &&
    (typeof refresh !== 'string' || refresh === '')
  ) {
    throw badAnswer(answer, purpose, 'a refresh_token that is not a string');
  }
  const scope = typeof json.scope === 'string' ? json.scope : options.previous?.scope;
  const refreshToken = typeof refresh === 'string' ? refresh : options.previous?.refreshToken;
  const set: ArgusTokenSet = {
    accessToken,
    tokenType: 'Bearer',
    expiresAt: options.now + lifetime,
    obtainedAt: options.now,
    loggedInAt: options.previous?.loggedInAt ?? options.now,
  };
  if (refreshToken !== undefined) set.refreshToken = refreshToken;
  if (scope !== undefined) set.scope = scope;
  return set;
}

/** A token answer refused for `why`; nothing of the answer but its status in the error. */
function badAnswer(answer: ArgusAnswer, purpose: string, why: string): ArgusError {
  return new ArgusError(ArgusErrorCode.BAD_RESPONSE, `Argus answered the ${purpose} with ${why}`, {
    argusStatus: answer.status,
  });
}

/**
 * True when `value` looks like a token set this package stored. Guards against a session
 * record written by another version or tampered with in the store: every time in it must
 * make a valid `Date`, so `req.argus.expiresAt` can never be an Invalid Date.
 */
export function isTokenSet(value: unknown): value is ArgusTokenSet {
  if (!isJsonObject(value)) return false;
  return (
    typeof value.accessToken === 'string' &&
    isTime(value.expiresAt) &&
    isTime(value.obtainedAt) &&
    (value.loggedInAt === undefined || isTime(value.loggedInAt)) &&
    (value.refreshToken === undefined || typeof value.refreshToken === 'string')
  );
}
