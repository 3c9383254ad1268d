/**
 * ArgusStrategy's options: validated once into a frozen, fully defaulted object. The
 * caller's object is never changed.
 */
import type { Agent } from 'node:http';
import { joinURL, parseArgusURL } from './urls.ts';

import { type BreakerOptions, type BreakerSettings, resolveBreaker } from './breaker-settings.ts';
import { BREAKER_METHODS, COORDINATOR_METHODS, type RefreshCoordinator } from './coordinator.ts';
import { type EncryptionKeyInput, type Keyring, keyringOf } from './encryption-keys.ts';

/** Where ArgusStrategy sends the client credentials at the token endpoint. */
export type ClientAuthentication = 'client_secret_post' | 'client_secret_basic';

/** Which Argus endpoint the profile is read from, or `false` for none. */
export type ProfileSource = 'currentuser' | 'userinfo' | false;

/**
 * Which arguments `ArgusStrategy` passes to its verify function, before `done`:
 *
 * - `'argus'`: `(tokens, profile)`, this package's own form.
 * - `'oauth2'`: `(accessToken, refreshToken, profile)`, passport-oauth2's.
 * - `'oauth2-params'`: `(accessToken, refreshToken, params, profile)`, passport-oauth2's with
 *   the token answer's fields.
 *
 * With `passReqToCallback: true` the request comes first in each.
 */
export type VerifyStyle = 'argus' | 'oauth2' | 'oauth2-params';

/** Options of `ArgusStrategy`, common to both verify styles. Durations are in milliseconds. */
export interface ArgusStrategyOptionsBase {
  /** The client's id (a UUID), from the Argus client configuration. Required. */
  clientID: string;
  /** The client's secret. Required. */
  clientSecret: string;
  /**
   * The absolute callback URL registered for the client, used as `redirect_uri` in both
   * the authorize and the token request. Required; never derived from the `Host` header.
   */
  callbackURL: string;
  /** The Argus portal. Default `https://portal.mnemonic.no`; authorize at `/spa/oauth/authorize`. */
  portalURL?: string;
  /** The Argus API. Default `https://api.mnemonic.no`; token at `/authentication/v1/oauth/token`. */
  apiURL?: string;
  /** Scopes to ask for (`openid groups customer email profile clientip`…). Default: none. */
  scope?: string | readonly string[];
  /** How the client authenticates at the token endpoint. Default `'client_secret_post'`. */
  clientAuthentication?: ClientAuthentication;
  /** Send a PKCE S256 challenge. Default `true`. */
  pkce?: boolean;
  /** Where the profile comes from. Default `'currentuser'` (`GET /currentuser/v1/user`). */
  profile?: ProfileSource;
  /** Time limit of every call to Argus, in ms. Default `10000`; at most `2147483647`. */
  timeout?: number;
  /** Largest answer accepted from Argus, in bytes. Default 1 MiB. */
  maxResponseSize?: number;
  /**
   * Token lifetime assumed when Argus sends no `expires_in`, in ms. Default `300000`; at
   * most one year, the longest `expires_in` believed from Argus too.
   */
  defaultTokenLifetime?: number;
  /** How long a started login may take before its callback is refused, in ms. Default `600000`. */
  loginTimeout?: number;
  /** How many logins one browser session may have open at once (tabs). Default `8`. */
  maxPendingLogins?: number;
  /** Allow plain http Argus URLs off loopback. For development only. Default `false`. */
  allowInsecureHttp?: boolean;
  /** The strategy's name for `passport.authenticate(name)`. Default `'argus'`. */
  name?: string;
  /**
   * Coordinates refreshes across app instances that share a session store (see
   * `RedisRefreshCoordinator`). Default: in-process only. A coordinator with a `lockTtl`
   * shorter than `timeout` plus 1000 ms is refused, since its lock could expire while the
   * holder still waits for Argus.
   */
  coordinator?: RefreshCoordinator;
  /**
   * Which arguments the verify function takes (see {@link VerifyStyle}). Default: told from
   * the function's `length`, as passport-oauth2 does: 5 parameters (6 with
   * `passReqToCallback`) are `'oauth2-params'`, 4 (5) are `'oauth2'`, any other length is
   * `'argus'`. Set it for a verify function whose `length` says nothing of its parameters:
   * one with rest or default parameters, a wrapper, or an async passport-oauth2-style
   * function that returns the user instead of calling `done`.
   */
  verifyStyle?: VerifyStyle;
  /**
   * Encrypts the token set at rest: keys, newest first (one key, or a list for a
   * rotation). The first key seals every token set written (AES-256-GCM, bound to the
   * session id); every key in the list opens. Each key is 32 random bytes (`openssl rand
   * -base64 32`), bare or as `{ id, key }`. A set that no key opens counts as logged out.
   * Default: none (token sets are stored in clear in the session record).
   *
   * @example
   * ```ts
   * encryptionKeys: [
   *   { id: '2026-12', key: process.env.ARGUS_TOKEN_KEY! },
   *   { id: '2026-06', key: process.env.ARGUS_TOKEN_KEY_OLD! },
   * ]
   * ```
   */
  encryptionKeys?: EncryptionKeyInput | readonly EncryptionKeyInput[];
  /**
   * The Argus circuit breaker: after `failures` unavailable answers in a row (timeouts,
   * network errors, 5xx, calls unanswered after `slowCall` ms; never a rejection), calls to
   * Argus stop but for one probe per `probeInterval` ms, until one succeeds. Meanwhile a
   * session whose token is still valid goes on without trying, and one whose token expired
   * gets 503 with `Retry-After` at once. After one unavailable answer, calls go one at a
   * time; a request waiting for a refresh that passes `slowCall` is answered then (the
   * refresh goes on in the background). Shared across instances by a coordinator that has
   * the breaker methods (as `RedisRefreshCoordinator` does). Default
   * `{ failures: 2, probeInterval: 5000, slowCall: 3000 }`; `false` switches it off.
   */
  breaker?: BreakerOptions | false;
  /**
   * The `http.Agent` (for an `http:` `apiURL`) or `https.Agent` (for `https:`) that opens
   * the connections of every call to Argus: a proxy agent, such as https-proxy-agent's
   * `HttpsProxyAgent`, to reach Argus through an outbound proxy. Default: Node.js's global
   * agent of the scheme, which keeps connections alive.
   *
   * @example
   * ```ts
   * import { HttpsProxyAgent } from 'https-proxy-agent';
   * const proxy = process.env.HTTPS_PROXY;
   * new ArgusStrategy({ ...options, agent: proxy ? new HttpsProxyAgent(proxy) : undefined });
   * ```
   */
  agent?: Agent | undefined;
}

/** Options of `ArgusStrategy` whose verify function does not take the request. */
export interface ArgusStrategyOptions extends ArgusStrategyOptionsBase {
  /** Pass `req` as the first argument of `verify`. Default `false`. */
  passReqToCallback?: false;
}

/** Options of `ArgusStrategy` whose verify function takes the request first. */
export interface ArgusStrategyOptionsWithRequest extends ArgusStrategyOptionsBase {
  /** Pass `req` as the first argument of `verify`. */
  passReqToCallback: true;
}

/** The validated, defaulted and frozen options. */
export interface ResolvedOptions {
  readonly clientID: string;
  readonly clientSecret: string;
  readonly callbackURL: URL;
  readonly portalURL: URL;
  readonly apiURL: URL;
  /** The portal's authorize endpoint: like `portalURL`, without a query or fragment. */
  readonly authorizationURL: URL;
  readonly tokenURL: URL;
  readonly scope: string | undefined;
  readonly clientAuthentication: ClientAuthentication;
  readonly pkce: boolean;
  readonly profile: ProfileSource;
  readonly timeout: number;
  readonly maxResponseSize: number;
  readonly defaultTokenLifetime: number;
  readonly loginTimeout: number;
  readonly maxPendingLogins: number;
  readonly name: string;
  readonly passReqToCallback: boolean;
  /** `undefined`: told from the verify function's `length`. */
  readonly verifyStyle: VerifyStyle | undefined;
  readonly coordinator: RefreshCoordinator | undefined;
  /** The `encryptionKeys`, validated; `undefined` when token sets are stored in clear. */
  readonly encryption: Keyring | undefined;
  /** `false`: no breaker. */
  readonly breaker: BreakerSettings | false;
  /** `undefined`: Node.js's global agent. */
  readonly agent: Agent | undefined;
}

/** The production Argus portal. */
export const DEFAULT_PORTAL_URL = 'https://portal.mnemonic.no';
/** The production Argus API. */
export const DEFAULT_API_URL = 'https://api.mnemonic.no';

function requiredString(options: Record<string, unknown>, name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`ArgusStrategy requires a ${name} option (a non-empty string)`);
  }
  return value;
}

function positive(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`ArgusStrategy option "${name}" must be a positive number`);
  }
  return value;
}

function oneOf<T>(
  options: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `ArgusStrategy option "${name}" must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
    );
  }
  return value as T;
}

function scopeOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const words = typeof value === 'string' ? value.split(/\s+/) : value;
  if (
    !Array.isArray(words) ||
    !words.every((w) => typeof w === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]*$/.test(w))
  ) {
    throw new TypeError('ArgusStrategy option "scope" must be a string or an array of scope words');
  }
  const joined = (words as string[]).filter((w) => w !== '').join(' ');
  return joined === '' ? undefined : joined;
}

/** The longest delay `setTimeout` takes, in ms (a signed 32-bit integer). */
const MAX_TIMER = 2 ** 31 - 1;

/** One year in ms: the longest token lifetime believed. */
const ONE_YEAR = 365 * 24 * 60 * 60 * 1000;

/**
 * How much longer than one Argus call a coordinator's lock must live, in ms. Besides the
 * call (bounded by `timeout`), the holder reads the successor record and the session and
 * writes both back: a few store round trips, far below a second on a working store.
 */
const LOCK_TTL_MARGIN = 1000;

function coordinatorOf(value: unknown, timeout: number): RefreshCoordinator | undefined {
  if (value === undefined) return undefined;
  const methods = COORDINATOR_METHODS;
  if (
    typeof value !== 'object' ||
    value === null ||
    !methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  ) {
    throw new TypeError(
      `ArgusStrategy option "coordinator" must have the methods ${methods.join(', ')}`,
    );
  }
  // The breaker's methods are optional, but a coordinator with some of them would share
  // half a breaker: all three or none.
  const present = BREAKER_METHODS.filter(
    (m) => typeof (value as Record<string, unknown>)[m] === 'function',
  );
  if (present.length !== 0 && present.length !== BREAKER_METHODS.length) {
    throw new TypeError(
      `ArgusStrategy option "coordinator" must have all of the breaker methods ${BREAKER_METHODS.join(', ')} or none`,
    );
  }
  const { lockTtl } = value as { lockTtl?: unknown };
  if (lockTtl === undefined) return value as RefreshCoordinator;
  if (typeof lockTtl !== 'number' || Number.isNaN(lockTtl)) {
    throw new TypeError(
      'ArgusStrategy option "coordinator" has a lockTtl that is not a number of milliseconds',
    );
  }
  // A lock that expires while its holder still waits for Argus lets a second instance
  // refresh the same token set; with rotating refresh tokens one of them then spends a
  // token that is already spent, and its user is logged out for nothing.
  if (lockTtl < timeout + LOCK_TTL_MARGIN) {
    throw new TypeError(
      `ArgusStrategy option "coordinator" has a lockTtl of ${lockTtl} ms; it must be at least the strategy's timeout (${timeout} ms) plus ${LOCK_TTL_MARGIN} ms, so that a refresh lock never expires while its holder is still waiting for Argus`,
    );
  }
  return value as RefreshCoordinator;
}

/**
 * An agent as `http.request` uses it: anything with its `addRequest`, which http.Agent,
 * https.Agent and the proxy agents built on them have. Told by that method rather than by
 * `instanceof`, so that an agent of another kind that Node.js accepts is accepted here too.
 */
function agentOf(value: unknown): Agent | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { addRequest?: unknown }).addRequest !== 'function'
  ) {
    throw new TypeError(
      'ArgusStrategy option "agent" must be an http.Agent or https.Agent (a proxy agent, say)',
    );
  }
  return value as Agent;
}

/**
 * Validates ArgusStrategy's options and fills in every default. Throws a `TypeError`
 * naming the option that is missing or wrong.
 */
export function resolveOptions(
  input: ArgusStrategyOptions | ArgusStrategyOptionsWithRequest,
): ResolvedOptions {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError('ArgusStrategy requires an options object');
  }
  const options = input as unknown as Record<string, unknown>;
  const allowInsecure = options.allowInsecureHttp === true;
  const clientID = requiredString(options, 'clientID');
  const clientSecret = requiredString(options, 'clientSecret');
  const callbackURL = parseArgusURL(
    'callbackURL',
    requiredString(options, 'callbackURL'),
    allowInsecure,
  );
  const portalURL = parseArgusURL(
    'portalURL',
    options.portalURL ?? DEFAULT_PORTAL_URL,
    allowInsecure,
  );
  const apiURL = parseArgusURL('apiURL', options.apiURL ?? DEFAULT_API_URL, allowInsecure);
  const name = options.name ?? 'argus';
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('ArgusStrategy option "name" must be a non-empty string');
  }
  const timeout = positive(options, 'timeout', 10_000);
  // Node.js sets a longer timer to 1 ms: every call to Argus would be cut off at once.
  if (timeout > MAX_TIMER) {
    throw new TypeError(
      `ArgusStrategy option "timeout" must be at most ${MAX_TIMER} ms, the longest timer Node.js can set (a longer one fires at once)`,
    );
  }
  const defaultTokenLifetime = positive(options, 'defaultTokenLifetime', 300_000);
  // The same bound as a token answer's expires_in: every expiry stays a valid Date.
  if (defaultTokenLifetime > ONE_YEAR) {
    throw new TypeError(
      `ArgusStrategy option "defaultTokenLifetime" must be at most one year (${ONE_YEAR} ms)`,
    );
  }
  const maxPendingLogins = positive(options, 'maxPendingLogins', 8);
  if (!Number.isInteger(maxPendingLogins)) {
    throw new TypeError('ArgusStrategy option "maxPendingLogins" must be a positive integer');
  }
  return Object.freeze({
    clientID,
    clientSecret,
    callbackURL,
    portalURL,
    apiURL,
    authorizationURL: joinURL(portalURL, '/spa/oauth/authorize'),
    tokenURL: joinURL(apiURL, '/authentication/v1/oauth/token'),
    scope: scopeOf(options.scope),
    clientAuthentication: oneOf<ClientAuthentication>(
      options,
      'clientAuthentication',
      ['client_secret_post', 'client_secret_basic'],
      'client_secret_post',
    ),
    pkce: oneOf(options, 'pkce', [true, false], true),
    profile: oneOf<ProfileSource>(
      options,
      'profile',
      ['currentuser', 'userinfo', false],
      'currentuser',
    ),
    timeout,
    maxResponseSize: positive(options, 'maxResponseSize', 1024 * 1024),
    defaultTokenLifetime,
    loginTimeout: positive(options, 'loginTimeout', 600_000),
    maxPendingLogins,
    name,
    passReqToCallback: oneOf(options, 'passReqToCallback', [true, false], false),
    verifyStyle: oneOf<VerifyStyle | undefined>(
      options,
      'verifyStyle',
      ['argus', 'oauth2', 'oauth2-params'],
      undefined,
    ),
    coordinator: coordinatorOf(options.coordinator, timeout),
    encryption: keyringOf(options.encryptionKeys),
    breaker: resolveBreaker(options.breaker),
    agent: agentOf(options.agent),
  });
}
