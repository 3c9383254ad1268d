/**
 * The Argus protocol: code exchange, refresh, profile, session end and API calls, each
 * one call through {@link callArgus}. Framework-free.
 */
import { ArgusError, ArgusErrorCode } from './errors.ts';
import {
  type AnswerHeaders,
  type ArgusAnswer,
  callArgus,
  errorFromAnswer,
  parseJson,
  tryParseJson,
  unwrapEnvelope,
} from './http-client.ts';
import type { ResolvedOptions } from './options.ts';
import { type ArgusProfile, profileFromCurrentUser, profileFromUserinfo } from './profile.ts';
import { type ArgusTokenSet, readTokenAnswer } from './token-set.ts';
import { type ArgusCallTraceContext, argusCallStatus, channels, traced } from './tracing.ts';
import { joinURL } from './urls.ts';

/** application/x-www-form-urlencoded encoding of one value (space as `+`). */
function formEncode(value: string): string {
  return new URLSearchParams([['v', value]]).toString().slice(2);
}

/** The paths of the two profile sources. */
const PROFILE_PATHS = {
  currentuser: '/currentuser/v1/user',
  userinfo: '/authentication/v1/oauth/userinfo',
} as const;

/** HTTP methods {@link ArgusClient.api} accepts. */
export type ArgusMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** Request options of an Argus API call. */
export interface ArgusApiInit {
  method?: ArgusMethod;
  /**
   * Extra request headers, in any letter case (names are compared case-insensitively, the
   * last of two spellings wins). They replace the defaults (`Accept`, `User-Agent`,
   * `Content-Type`), but never the headers passport-argus owns: `Authorization`,
   * `X-Forwarded-For` and `Host`, nor the ones that describe the connection or the body's
   * framing, which the HTTP client sets.
   */
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON. */
  body?: unknown;
}

/**
 * The token answer's fields as passport-oauth2 passes them to a verify function as
 * `params`: the JSON object Argus answered at the code exchange, as it came (so
 * `expires_in` is in seconds, and `id_token` is there when Argus sends one), except
 * `refresh_token`, which the verify function gets as an argument of its own.
 */
export interface ArgusTokenParams {
  /** The access token, as the verify function's `accessToken` argument. */
  readonly access_token: string;
  /** `Bearer`, in the letter case Argus used. */
  readonly token_type: string;
  /** The access token's lifetime in seconds, when Argus said. */
  readonly expires_in?: number | null;
  /** The granted scope, when Argus said. */
  readonly scope?: string;
  /** Any other field of the answer (Argus sends `id_token`, often `null`). */
  readonly [field: string]: unknown;
}

/**
 * Speaks to Argus for one configured client. One instance serves every request at once;
 * it keeps no per-request state.
 */
export class ArgusClient {
  readonly #options: ResolvedOptions;
  readonly #basic: string;
  /** The URLs of the fixed endpoints, resolved against `apiURL` once rather than per call. */
  readonly #endpoints: Record<'currentuser' | 'userinfo' | 'session', URL>;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    // RFC 6749 §2.3.1: form-encode each part before base64, so ':' in a secret survives.
    this.#basic = `Basic ${Buffer.from(
      `${formEncode(options.clientID)}:${formEncode(options.clientSecret)}`,
    ).toString('base64')}`;
    this.#endpoints = {
      currentuser: joinURL(options.apiURL, PROFILE_PATHS.currentuser),
      userinfo: joinURL(options.apiURL, PROFILE_PATHS.userinfo),
      session: joinURL(options.apiURL, '/authentication/v1/session'),
    };
  }

  /** The validated options this client was built with. */
  get options(): ResolvedOptions {
    return this.#options;
  }

  async #token(
    params: URLSearchParams,
    purpose: string,
    clientIp: string | undefined,
  ): Promise<ArgusAnswer> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    // One client authentication method per request (RFC 6749 §2.3).
    if (this.#options.clientAuthentication === 'client_secret_basic') {
      headers.authorization = this.#basic;
    } else {
      params.set('client_id', this.#options.clientID);
      params.set('client_secret', this.#options.clientSecret);
    }
    return callArgus({
      method: 'POST',
      url: this.#options.tokenURL,
      headers,
      body: params.toString(),
      timeout: this.#options.timeout,
      maxBytes: this.#options.maxResponseSize,
      clientIp,
      purpose,
      agent: this.#options.agent,
    });
  }

  /**
   * Exchanges an authorization code for a token set.
   *
   * @see RFC 6749 §4.1.3, RFC 7636 §4.5
   */
  async exchangeCode(
    code: string,
    verifier: string | undefined,
    clientIp: string | undefined,
    extra: Record<string, string> = {},
  ): Promise<ArgusTokenSet> {
    return (await this.#exchange(code, verifier, clientIp, extra)).tokens;
  }

  /**
   * Exchanges an authorization code as {@link ArgusClient.exchangeCode} does, and also
   * returns the token answer's own fields as passport-oauth2 hands them to a verify
   * function (`params`).
   *
   * @see RFC 6749 §4.1.3 and §5.1
   */
  async exchangeCodeWithParams(
    code: string,
    verifier: string | undefined,
    clientIp: string | undefined,
    extra: Record<string, string> = {},
  ): Promise<{ tokens: ArgusTokenSet; params: ArgusTokenParams }> {
    const { tokens, answer } = await this.#exchange(code, verifier, clientIp, extra);
    // readTokenAnswer accepted this body, so it is a JSON object with an access_token.
    const fields = { ...(tryParseJson(answer) as Record<string, unknown>) };
    // As passport-oauth2 (through node-oauth) does: the refresh token is its own argument,
    // and a copy of it in params would only travel further than it needs to.
    delete fields.refresh_token;
    return { tokens, params: Object.freeze(fields) as ArgusTokenParams };
  }

  #exchange(
    code: string,
    verifier: string | undefined,
    clientIp: string | undefined,
    extra: Record<string, string>,
  ): Promise<{ tokens: ArgusTokenSet; answer: ArgusAnswer }> {
    // Traced only while someone subscribes: otherwise no context and no closure.
    if (!channels.exchange.hasSubscribers)
      return this.#exchangeNow(code, verifier, clientIp, extra);
    const path = this.#options.tokenURL.pathname;
    const context: ArgusCallTraceContext = { purpose: 'token exchange', method: 'POST', path };
    const run = () => this.#exchangeNow(code, verifier, clientIp, extra);
    return traced(channels.exchange, context, run, argusCallStatus);
  }

  async #exchangeNow(
    code: string,
    verifier: string | undefined,
    clientIp: string | undefined,
    extra: Record<string, string>,
  ): Promise<{ tokens: ArgusTokenSet; answer: ArgusAnswer }> {
    const params = new URLSearchParams(extra);
    params.set('grant_type', 'authorization_code');
    params.set('code', code);
    params.set('redirect_uri', this.#options.callbackURL.href);
    if (verifier !== undefined) params.set('code_verifier', verifier);
    const answer = await this.#token(params, 'token exchange', clientIp);
    const tokens = readTokenAnswer(answer, {
      purpose: 'token exchange',
      now: Date.now(),
      defaultLifetime: this.#options.defaultTokenLifetime,
    });
    return { tokens, answer };
  }

  /**
   * Refreshes a token set. The answer's refresh token replaces the old one; when it has
   * none, the old one is kept.
   *
   * @see RFC 6749 §6
   */
  async refresh(current: ArgusTokenSet, clientIp: string | undefined): Promise<ArgusTokenSet> {
    if (current.refreshToken === undefined) {
      throw new ArgusError(
        ArgusErrorCode.REJECTED,
        'The Argus session has no refresh token and cannot be refreshed',
      );
    }
    const params = new URLSearchParams();
    params.set('grant_type', 'refresh_token');
    params.set('refresh_token', current.refreshToken);
    const answer = await this.#token(params, 'token refresh', clientIp);
    return readTokenAnswer(answer, {
      purpose: 'token refresh',
      now: Date.now(),
      defaultLifetime: this.#options.defaultTokenLifetime,
      previous: current,
    });
  }

  /** The API path of the profile request, or `undefined` when the `profile` option is `false`. */
  get profilePath(): string | undefined {
    const source = this.#options.profile;
    return source === false ? undefined : PROFILE_PATHS[source];
  }

  /** Reads the user behind a token, from the endpoint the `profile` option names. */
  async profile(
    accessToken: string,
    clientIp: string | undefined,
  ): Promise<ArgusProfile | undefined> {
    const source = this.#options.profile;
    if (source === false) return undefined;
    if (!channels.profile.hasSubscribers) return this.#profileNow(source, accessToken, clientIp);
    const context: ArgusCallTraceContext = {
      purpose: 'profile request',
      method: 'GET',
      path: PROFILE_PATHS[source],
    };
    const run = () => this.#profileNow(source, accessToken, clientIp);
    return traced(channels.profile, context, run, argusCallStatus);
  }

  async #profileNow(
    source: 'currentuser' | 'userinfo',
    accessToken: string,
    clientIp: string | undefined,
  ): Promise<ArgusProfile> {
    const purpose = `profile request (${source})`;
    const url = this.#endpoints[source];
    const answer = await this.#bearer('GET', url, accessToken, clientIp, purpose);
    if (answer.status !== 200) throw errorFromAnswer(answer, purpose);
    const json = parseJson(answer, purpose);
    return source === 'userinfo'
      ? profileFromUserinfo(json)
      : profileFromCurrentUser(unwrapEnvelope(json, purpose, answer.status));
  }

  /**
   * Ends the Argus session behind a token everywhere (`DELETE /authentication/v1/session`).
   * Throws on failure; callers decide whether it matters.
   */
  async endSession(accessToken: string, clientIp: string | undefined): Promise<void> {
    const purpose = 'session end';
    const answer = await this.#bearer(
      'DELETE',
      this.#endpoints.session,
      accessToken,
      clientIp,
      purpose,
    );
    // 401: the session had already ended, which is what we wanted.
    if (answer.status >= 300 && answer.status !== 401) throw errorFromAnswer(answer, purpose);
  }

  /**
   * Asks Argus whether the session behind a token is still valid
   * (`GET /authentication/v1/session`), bounded by the timeout like every call. Resolves
   * with Argus's status: 200 while the session is valid, 401 once it has ended (the user
   * logged out of Argus, or the session was revoked), or whatever else Argus answered;
   * the body is not needed. Throws when Argus could not be reached or answered too much
   * (`ARGUS_TIMEOUT`, `ARGUS_NETWORK`, ...).
   */
  async checkSession(accessToken: string, clientIp: string | undefined): Promise<number> {
    const answer = await this.#bearer(
      'GET',
      this.#endpoints.session,
      accessToken,
      clientIp,
      'session check',
    );
    return answer.status;
  }

  /**
   * Calls the Argus API with a bearer token and returns the whole answer as a `Response`.
   * `path` is resolved against `apiURL` and may not leave it.
   */
  async api(
    path: string,
    init: ArgusApiInit,
    accessToken: string,
    clientIp: string | undefined,
  ): Promise<Response> {
    const method = init.method ?? 'GET';
    const headers = apiHeaders(init.headers);
    let body: string | undefined;
    if (init.body !== undefined) {
      if (typeof init.body === 'string') {
        body = init.body;
      } else {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const checked = apiPath(path);
    const answer = await this.#bearer(
      method,
      joinURL(this.#options.apiURL, checked),
      accessToken,
      clientIp,
      // The query stays out of log lines and error messages: it is the app's data.
      `API call ${method} ${checked.split('?')[0]}`,
      headers,
      body,
    );
    const empty = answer.status === 204 || answer.status === 205 || answer.status === 304;
    return new Response(empty ? null : answer.body, {
      status: answer.status,
      headers: toHeaders(answer.headers),
    });
  }

  #bearer(
    method: ArgusMethod,
    url: URL,
    accessToken: string,
    clientIp: string | undefined,
    purpose: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<ArgusAnswer> {
    const call = {
      method,
      url,
      headers: { accept: 'application/json', ...headers, authorization: `Bearer ${accessToken}` },
      timeout: this.#options.timeout,
      maxBytes: this.#options.maxResponseSize,
      clientIp,
      purpose,
      agent: this.#options.agent,
    };
    return callArgus(body === undefined ? call : { ...call, body });
  }
}

/**
 * Headers an app may not set on an API call. The package's own: the user's bearer token
 * and IP, and the host of `apiURL` (another `Host` would route the token to another
 * virtual host). Then the hop-by-hop headers of RFC 9110 §7.6.1 and `Content-Length`,
 * which describe this connection and this body: the HTTP client sets them, and a wrong
 * one would fail the call or desynchronise the connection.
 */
const RESERVED_HEADERS = new Set([
  'authorization',
  'x-forwarded-for',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

/**
 * The app's headers with lower-case names and without the reserved ones. HTTP header
 * names are case-insensitive, so `Authorization` next to the package's `authorization`
 * would reach Argus as two headers, and the first one wins there.
 */
function apiHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  // No prototype: a header named `__proto__` stays a plain (if odd) header.
  const out: Record<string, string> = Object.create(null);
  if (headers === undefined || headers === null) return out;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) out[lower] = value;
  }
  return out;
}

/** Argus's answer headers as a WHATWG `Headers`, repeated ones appended one by one. */
function toHeaders(headers: AnswerHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const one of value) out.append(name, one);
    else if (value !== undefined) out.append(name, value);
  }
  return out;
}

/**
 * Checks an API path: it must start with one `/` and hold no `..` segment, so that a
 * path built from user input cannot point the bearer token elsewhere.
 */
function apiPath(path: string): string {
  if (
    typeof path !== 'string' ||
    !path.startsWith('/') ||
    path.startsWith('//') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    /[\\\x00-\x20\x7f]/.test(path) ||
    /(^|\/)\.\.?(\/|$|\?)/.test(path) ||
    /%2e/i.test(path.split('?')[0] ?? '')
  ) {
    throw new ArgusError(
      ArgusErrorCode.MISCONFIGURED,
      'An Argus API path must be an absolute path such as "/currentuser/v1/user"',
    );
  }
  return path;
}
