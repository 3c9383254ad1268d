/** The public face of `req.argus` and `ctx.state.argus`, whichever the framework. */
import type { ArgusApiInit } from './argus-client.ts';
import type { ArgusError } from './errors.ts';
import type { LogoutReason } from './events.ts';

/** The outcome of `ensureFresh()`, which `requireArgus()` runs before letting a request on. */
export type RenewOutcome =
  /** The session has a usable token (refreshed, or still valid while Argus is down). */
  | { type: 'ok' }
  /** The user was logged out here (Argus rejected the refresh, or it timed out). */
  | { type: 'logged_out'; reason: LogoutReason }
  /** Argus is unavailable and the token has expired: answer 503, keep the session. */
  | { type: 'unavailable'; error: ArgusError };

/** The public face of `req.argus`. */
export interface ArgusRequestContext {
  /** The current access token. Keep it on the server. */
  readonly accessToken: string;
  /** When the current access token expires. */
  readonly expiresAt: Date;
  /**
   * Calls the Argus API (`path` relative to `apiURL`) with the bearer token and the end
   * user's IP in `X-Forwarded-For`. On a 401 it refreshes once and retries once; a 401 to
   * the retry too means Argus has ended the session, and the user is logged out
   * (`ARGUS_SESSION_EXPIRED`).
   */
  fetch(path: string, init?: ArgusApiInit): Promise<Response>;
  /**
   * Like {@link ArgusRequestContext.fetch}, then unwraps the Argus envelope and returns
   * `data` (a flat JSON object, such as userinfo's, comes back whole; an empty body is
   * `undefined`). A non-2xx answer throws `ARGUS_HTTP`; a body that is not a JSON object
   * throws `ARGUS_BAD_RESPONSE`.
   */
  json<T = unknown>(path: string, init?: ArgusApiInit): Promise<T>;
  /** Refreshes the token now (shared with any refresh of this session under way). */
  refresh(): Promise<void>;
  /**
   * Makes sure the session has a usable token, as `requireArgus()` does before it lets a
   * request on, and says how that went instead of throwing: refreshes inside the refresh
   * window (or always, with `force`; default `false`), logs the user out on a rejection or
   * a passed `refreshTimeout`, and keeps the session while Argus is unavailable (`'ok'`
   * while the old token is still valid and `force` is off, else `'unavailable'`). With
   * the guard's `sessionCheckInterval`, a fresh token's session is checked with Argus
   * once it is due, and a 401 logs the user out as a rejection does.
   *
   * @example
   * ```ts
   * const outcome = await req.argus.ensureFresh();
   * if (outcome.type === 'unavailable') res.set('Retry-After', String(outcome.error.retryAfter));
   * ```
   */
  ensureFresh(force?: boolean): Promise<RenewOutcome>;
  /** Ends the Argus session (best effort) and logs the user out here. */
  logout(): Promise<void>;
}
