/**
 * Options shared by `requireArgus` and `argusLogout` in every framework, validated once
 * into a frozen object.
 */
import { safeReturnTo } from './urls.ts';

/** Options of `requireArgus()`. Durations are in milliseconds. */
export interface RequireArgusOptions {
  /**
   * Where a logged-out page request is sent. Default `'/login'`. A same-origin path, held
   * to the rules of a return path (printable ASCII, no `//`, backslash or encoded slashes);
   * anything else throws a `TypeError` at construction.
   */
  loginURL?: string;
  /**
   * Refresh this long before the access token expires. Default `60000` (a fifth of
   * Argus's 300-second tokens), so an active user never meets an expired token.
   */
  refreshWindow?: number;
  /**
   * Log a session out, without calling Argus, when it has not been refreshed for this
   * long (Argus's own refresh timeout is not documented). Default: none.
   */
  refreshTimeout?: number;
  /**
   * Ask Argus at most this often per session whether the user's session is still alive
   * (`GET /authentication/v1/session`), so that a user who logged out of Argus is logged
   * out here within this long even on pages that make no Argus call. A 401 logs the user
   * out as a rejected refresh does; Argus unavailable (or the breaker open) changes
   * nothing. A login or a refresh counts as a check. At least `1000`; default: no check,
   * and a logout at Argus is noticed at the next refresh.
   */
  sessionCheckInterval?: number;
  /** `Retry-After` sent with a 503 while Argus is unavailable. Default `5000`. */
  retryAfter?: number;
  /** Send `Cache-Control: no-store` on protected responses. Default `true`. */
  noStore?: boolean;
  /** The session cookie's name, to clear it at logout. Default `'connect.sid'` (Koa: `'koa.sess'`). */
  cookieName?: string;
  /** The ArgusStrategy (or its name) whose tokens this guards. Default: the strategy named `'argus'`. */
  strategy?: unknown;
}

/** Options of `argusLogout()`. */
export interface ArgusLogoutOptions {
  /**
   * Same-origin path to go to after logout. Default `'/'`. Held to the rules of a return
   * path (printable ASCII, no `//`, backslash or encoded slashes); anything else throws a
   * `TypeError` at construction.
   */
  redirectTo?: string;
  /** Also accept GET (logout links). Default `false`: POST only, so a link on another site cannot log users out. */
  allowGet?: boolean;
  /** The session cookie's name, to clear it. Default `'connect.sid'` (Koa: `'koa.sess'`). */
  cookieName?: string;
  /** The ArgusStrategy (or its name). Default: the strategy named `'argus'`. */
  strategy?: unknown;
}

/** The validated guard settings. */
export interface GuardSettings {
  readonly loginURL: string;
  readonly refreshWindow: number;
  readonly refreshTimeout: number | undefined;
  readonly sessionCheckInterval: number | undefined;
  readonly retryAfterSeconds: string;
  readonly noStore: boolean;
  readonly cookieName: string;
}

/** The shortest `sessionCheckInterval`, in ms. */
const MIN_CHECK_INTERVAL = 1000;

function duration(
  options: Record<string, unknown>,
  name: string,
  fallback: number | undefined,
  min = 0,
) {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new TypeError(`requireArgus option "${name}" must be a number of milliseconds ≥ ${min}`);
  }
  return value;
}

/**
 * A path option that is sent as a `Location`: held to the same rules as a return path,
 * since a browser strips tabs and newlines and reads `/\t/host` as `//host`, another site.
 */
function path(value: unknown, name: string, fallback: string, fn: string): string {
  if (value === undefined) return fallback;
  const safe = safeReturnTo(value);
  if (safe === undefined) {
    throw new TypeError(
      `${fn} option "${name}" must be a same-origin path such as "/login": printable ASCII, and nothing a browser could read as another site ("//", "\\", encoded slashes, control characters)`,
    );
  }
  return safe;
}

function cookieName(value: unknown, fallback: string, fn: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) {
    throw new TypeError(`${fn} option "cookieName" must be a cookie name`);
  }
  return value;
}

/** Validates `requireArgus` options. */
export function resolveGuardSettings(
  input: RequireArgusOptions,
  defaultCookie: string,
): GuardSettings {
  const options = (input ?? {}) as Record<string, unknown>;
  const retryAfter = duration(options, 'retryAfter', 5000) as number;
  return Object.freeze({
    loginURL: path(options.loginURL, 'loginURL', '/login', 'requireArgus'),
    refreshWindow: duration(options, 'refreshWindow', 60_000) as number,
    refreshTimeout: duration(options, 'refreshTimeout', undefined, 1),
    // Below a second a check would come close to one Argus call per request.
    sessionCheckInterval: duration(options, 'sessionCheckInterval', undefined, MIN_CHECK_INTERVAL),
    retryAfterSeconds: String(Math.max(1, Math.ceil(retryAfter / 1000))),
    noStore: options.noStore !== false,
    cookieName: cookieName(options.cookieName, defaultCookie, 'requireArgus'),
  });
}

/** The validated logout settings. */
export interface LogoutSettings {
  readonly redirectTo: string;
  readonly allowGet: boolean;
  readonly cookieName: string;
}

/** Validates `argusLogout` options. */
export function resolveLogoutSettings(
  input: ArgusLogoutOptions,
  defaultCookie: string,
): LogoutSettings {
  const options = (input ?? {}) as Record<string, unknown>;
  return Object.freeze({
    redirectTo: path(options.redirectTo, 'redirectTo', '/', 'argusLogout'),
    allowGet: options.allowGet === true,
    cookieName: cookieName(options.cookieName, defaultCookie, 'argusLogout'),
  });
}

/**
 * The framework's content negotiation over the request's `Accept` header: the best of
 * `types` (short names such as `'json'`), or `false` when none is acceptable. Express's
 * `req.accepts(types)` and Koa's `ctx.accepts(types)` are such functions.
 */
export type NegotiateAccept = (types: string[]) => string | false;

// JSON first: it wins a tie, such as `Accept: */*` or no Accept header at all.
const ANSWER_TYPES = ['json', 'html'];

/**
 * A page request is a GET or HEAD for which the framework's content negotiation picks HTML
 * over JSON; every other request is an API request, answered with JSON and never
 * redirected. The negotiation weighs the `Accept` header's q-values, then how specific each
 * media range is, then their order: `application/json, text/html;q=0` is an API request, a
 * browser's `text/html,application/xhtml+xml` (with a wildcard at a lower q) a page, and a
 * bare wildcard or a missing `Accept` (a tie, which JSON wins) an API request.
 *
 * @param negotiate - the framework's negotiation, such as `(types) => req.accepts(types)`.
 * @see RFC 9110 §12.5.1, the `Accept` header.
 */
export function isPageRequest(method: string | undefined, negotiate: NegotiateAccept): boolean {
  return (method === 'GET' || method === 'HEAD') && prefersHtml(negotiate);
}

/**
 * True when the framework's content negotiation picks HTML over JSON for this request,
 * whatever its method: a logout form's POST is answered with a redirect, a `fetch` with 204.
 */
export function prefersHtml(negotiate: NegotiateAccept): boolean {
  return negotiate(ANSWER_TYPES) === 'html';
}
