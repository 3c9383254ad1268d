/**
 * The error family of passport-argus. Every error carries a string `code`; test
 * `error.code`, not `instanceof`, because a bundler can load two copies of a class.
 *
 * Nothing secret ever goes into a message: no token, code, verifier or client secret.
 * Argus's own answer, when there is one, is kept on a non-enumerable `response` so that
 * it stays out of logs and JSON dumps.
 */

/** Every `code` an {@link ArgusError} can carry. */
export const ArgusErrorCode = {
  /** Argus did not answer within the timeout. */
  TIMEOUT: 'ARGUS_TIMEOUT',
  /** The connection to Argus failed (refused, reset, DNS). */
  NETWORK: 'ARGUS_NETWORK',
  /** Argus answered with more bytes than the response cap allows. */
  RESPONSE_TOO_LARGE: 'ARGUS_RESPONSE_TOO_LARGE',
  /** Argus answered with a redirect; calls to Argus never follow one. */
  REDIRECT: 'ARGUS_REDIRECT',
  /** Argus answered with a body that is not the JSON this call expects. */
  BAD_RESPONSE: 'ARGUS_BAD_RESPONSE',
  /** Argus answered with an HTTP error status (see `argusStatus`). */
  HTTP: 'ARGUS_HTTP',
  /** Argus rejected the grant: `invalid_grant`, 401 or 403. The user must log in again. */
  REJECTED: 'ARGUS_REJECTED',
  /** The token endpoint refused our client credentials (`invalid_client`). */
  CLIENT_REJECTED: 'ARGUS_CLIENT_REJECTED',
  /** The request needs a logged-in Argus user and there is none. */
  LOGIN_REQUIRED: 'ARGUS_LOGIN_REQUIRED',
  /** The Argus session ended (refresh rejected, refresh timeout passed). */
  SESSION_EXPIRED: 'ARGUS_SESSION_EXPIRED',
  /** The login callback is malformed, replayed or belongs to another browser. */
  INVALID_CALLBACK: 'ARGUS_INVALID_CALLBACK',
  /** No session middleware ran before passport-argus. */
  SESSION_REQUIRED: 'ARGUS_SESSION_REQUIRED',
  /** The store that coordinates refreshes across instances (Redis) failed. */
  COORDINATION: 'ARGUS_COORDINATION',
  /**
   * Argus failed several calls in a row and the breaker is open: this call was not tried
   * (one probe per `breaker.probeInterval` finds out when Argus is back).
   */
  BREAKER_OPEN: 'ARGUS_BREAKER_OPEN',
  /** The application asked for something passport-argus cannot do as configured. */
  MISCONFIGURED: 'ARGUS_MISCONFIGURED',
} as const;

/** The union of every error code, for exhaustive `switch` statements. */
export type ArgusErrorCode = (typeof ArgusErrorCode)[keyof typeof ArgusErrorCode];

/** Options of {@link ArgusError}. */
export interface ArgusErrorOptions {
  /** The HTTP status the application should answer its own client with. */
  status?: number;
  /** The HTTP status Argus answered with, when there was an answer. */
  argusStatus?: number;
  /** The OAuth `error` value Argus sent, such as `invalid_grant`. */
  oauthError?: string;
  /** The lower-level error. */
  cause?: unknown;
  /** Argus's answer, kept non-enumerable. Never put it in a page. */
  response?: unknown;
  /** Seconds after which a retry may succeed, for a `Retry-After` header. */
  retryAfter?: number;
}

/**
 * An error of passport-argus, with a machine-readable {@link ArgusErrorCode}.
 *
 * `status` is what the application should answer (Express's error handler reads it);
 * `argusStatus` is what Argus answered. They differ on purpose: an Argus 400 during the
 * code exchange is our server's problem, a 502, not the browser's.
 *
 * @example
 * ```ts
 * try { await req.argus.json('/currentuser/v1/user'); }
 * catch (err) { if (isArgusError(err) && err.code === 'ARGUS_TIMEOUT') retryLater(); }
 * ```
 */
export class ArgusError extends Error {
  override readonly name: string = 'ArgusError';
  /** Machine-readable reason. */
  readonly code: ArgusErrorCode;
  /** The status the application should answer with. */
  readonly status: number;
  /** The status Argus answered with, if any. */
  readonly argusStatus: number | undefined;
  /** The OAuth `error` field Argus sent, if any. */
  readonly oauthError: string | undefined;
  /** Argus's answer (non-enumerable, so it stays out of logs). */
  declare readonly response: unknown;
  /**
   * Seconds after which a retry may succeed: set when Argus (or the coordination store) is
   * unavailable, on every path, so the app can answer `503` with this `Retry-After`.
   */
  readonly retryAfter: number | undefined;
  /**
   * Headers the application's answer should carry (`Retry-After` while Argus is
   * unavailable). Express's default error handler sends them.
   */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: ArgusErrorCode, message: string, options: ArgusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? defaultStatus(code);
    this.argusStatus = options.argusStatus;
    this.oauthError = options.oauthError;
    this.retryAfter = options.retryAfter;
    this.headers =
      options.retryAfter === undefined ? undefined : { 'Retry-After': String(options.retryAfter) };
    Object.defineProperty(this, 'response', {
      value: options.response,
      enumerable: false,
      writable: false,
    });
  }
}

function defaultStatus(code: ArgusErrorCode): number {
  switch (code) {
    case ArgusErrorCode.TIMEOUT:
      return 504;
    case ArgusErrorCode.LOGIN_REQUIRED:
    case ArgusErrorCode.SESSION_EXPIRED:
    case ArgusErrorCode.REJECTED:
      return 401;
    case ArgusErrorCode.INVALID_CALLBACK:
      return 400;
    case ArgusErrorCode.SESSION_REQUIRED:
    case ArgusErrorCode.MISCONFIGURED:
      return 500;
    case ArgusErrorCode.NETWORK:
    case ArgusErrorCode.COORDINATION:
    case ArgusErrorCode.BREAKER_OPEN:
      return 503;
    default:
      return 502;
  }
}

/**
 * True for any error of passport-argus, whichever copy of the package made it.
 *
 * @example
 * ```ts
 * if (isArgusError(err)) console.warn(err.code);
 * ```
 */
export function isArgusError(value: unknown): value is ArgusError {
  if (value instanceof ArgusError) return true;
  const code = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ARGUS_');
}

/**
 * True when Argus said no for good (the user must log in again), as opposed to Argus being
 * unavailable. A rejection is a 401, a 403, or a 400 carrying an OAuth `error`, such as
 * `invalid_grant`. Network errors, timeouts, 5xx and unreadable answers are not.
 *
 * @see RFC 6749 §5.2
 */
export function isRejection(error: unknown): boolean {
  return isArgusError(error) && error.code === ArgusErrorCode.REJECTED;
}

/**
 * True when `error` means Argus (or the coordination store) could not be reached or gave
 * no usable answer: a timeout, a network error, a 5xx, an unreadable answer. Such a
 * failure keeps the session.
 */
export function isUnavailable(error: unknown): error is ArgusError {
  if (!isArgusError(error)) return false;
  switch (error.code) {
    case ArgusErrorCode.TIMEOUT:
    case ArgusErrorCode.NETWORK:
    case ArgusErrorCode.COORDINATION:
    case ArgusErrorCode.BREAKER_OPEN:
    case ArgusErrorCode.RESPONSE_TOO_LARGE:
    case ArgusErrorCode.REDIRECT:
    case ArgusErrorCode.BAD_RESPONSE:
      return true;
    case ArgusErrorCode.HTTP:
      return (error.argusStatus ?? 500) >= 500;
    default:
      return false;
  }
}

/**
 * "Argus is unavailable", answered the same on every path: the same code and message as
 * `error`, status 503 and a `Retry-After` of `retryAfter` seconds.
 */
export function unavailableError(error: ArgusError, retryAfter: number): ArgusError {
  if (error.status === 503 && error.retryAfter === retryAfter) return error;
  return new ArgusError(error.code, error.message, {
    status: 503,
    argusStatus: error.argusStatus,
    oauthError: error.oauthError,
    cause: error,
    response: error.response,
    retryAfter,
  });
}

export {
  cookieLostReason,
  passportSessionMissingError,
  secureCookieOverHttpError,
  serverSessionRequiredError,
  sessionRequiredError,
} from './setup-errors.ts';
