/**
 * Public types of the Argus emulator. They live apart from the implementation so that every
 * module can share them without import cycles; `index.ts` re-exports them.
 */

/**
 * A user who can log in to the emulated Argus portal.
 *
 * `id` defaults to a number from 1001 upwards; `customer` and `domain` default to the demo
 * customer and domain, since every real Argus user belongs to one.
 *
 * @example
 * const carol: EmulatorUser = { userName: 'carol', password: 'carol-password', name: 'Carol Chen' };
 */
export interface EmulatorUser {
  userName: string;
  password: string;
  name: string;
  id?: number;
  email?: string;
  customer?: { id: number; name: string; shortName: string };
  domain?: { id: number; name: string };
  groups?: string[];
}

/**
 * An OAuth client registered with the emulated Argus.
 *
 * `permittedUsers` lists the user names that may use the client; leave it out to permit every
 * user. Redirect URIs are matched exactly, as Argus does.
 *
 * @example
 * const client: EmulatorClient = {
 *   clientID: 'my-app',
 *   clientSecret: 'my-secret',
 *   redirectUris: ['http://localhost:3000/oauth/callback'],
 *   permittedUsers: ['alice'],
 * };
 */
export interface EmulatorClient {
  clientID: string;
  clientSecret: string;
  redirectUris: string[];
  permittedUsers?: string[];
}

/**
 * How a rejected refresh (or a bad authorization code) looks on the wire: `'invalid_grant'` is
 * HTTP 400 with `{"error":"invalid_grant"}` (RFC 6749 §5.2); `401` and `403` answer that status
 * with the Argus envelope. Argus does not document which one it uses.
 *
 * @example
 * const rejection: RejectionStyle = 401;
 */
export type RejectionStyle = 'invalid_grant' | 401 | 403;

/**
 * Options of {@link startArgusEmulator}. Every duration is in milliseconds.
 *
 * Defaults: port 0 (any free port), host `127.0.0.1`, the demo users and client, access tokens
 * for 300 000 ms, codes for 60 000 ms, refresh tokens issued and not rotated, no refresh
 * timeout, reuse detection on, rejections as `400 invalid_grant`, non-permitted users refused
 * with a page, the client IP checked at userinfo, no control API, the last 1 000 requests
 * recorded within 8 MiB.
 *
 * @example
 * const options: ArgusEmulatorOptions = { tokenLifetime: 60_000, rotateRefreshTokens: true };
 */
export interface ArgusEmulatorOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Users who can log in. Default {@link DEMO_USERS}. */
  users?: EmulatorUser[];
  /** Registered clients. Default `[DEMO_CLIENT]`. */
  clients?: EmulatorClient[];
  /** Access token lifetime in ms. Default 300 000 (`expires_in` 300). */
  tokenLifetime?: number;
  /** Authorization code lifetime in ms. Default 60 000. */
  codeLifetime?: number;
  /** Whether the code exchange returns a refresh token. Default true. */
  issueRefreshTokens?: boolean;
  /**
   * A grant not refreshed within this many ms of its last token issue is rejected on refresh.
   * Default null (no timeout).
   */
  refreshTimeout?: number | null;
  /** Each refresh returns a new refresh token and spends the old one. Default false. */
  rotateRefreshTokens?: boolean;
  /**
   * With rotation, a spent refresh token used again is rejected and ends the whole grant.
   * Default true.
   */
  reuseDetection?: boolean;
  /** Shape of a refresh or code rejection. Default `'invalid_grant'`. */
  rejection?: RejectionStyle;
  /**
   * A user the client does not permit sees a 403 page at the portal (`'page'`, default) or is
   * sent back to the client with `error=access_denied` (`'redirect'`).
   */
  deniedUser?: 'page' | 'redirect';
  /**
   * Userinfo requires `X-Forwarded-For` equal to the browser's IP at authorize time.
   * Default true.
   */
  checkClientIP?: boolean;
  /**
   * Serve the HTTP control endpoints under `/__emulator/`. Default false.
   *
   * They answer only requests whose `Host` is loopback (`127.0.0.1`, `localhost`, `[::1]`, a
   * name under `.localhost`, any port), the host the emulator listens on, or one of
   * {@link ArgusEmulatorOptions.controlHosts}; others get 403. That keeps out a web page using
   * DNS rebinding. Every request that is not a GET must be `application/json` (else 415), which
   * a cross-site page cannot send without a CORS preflight that is never granted.
   */
  controlAPI?: boolean;
  /**
   * More host names (or addresses) the control API answers to, without port: for a browser or
   * a container that reaches the emulator by another name. Needs `controlAPI: true`.
   */
  controlHosts?: string[];
  /**
   * A secret every control request must present as `Authorization: Bearer <controlToken>`
   * (compared in constant time; else 403), to keep out other local programs and users. Needs
   * `controlAPI: true`. Default none.
   */
  controlToken?: string;
  /** The most recorded requests kept; the oldest are dropped first. Default 1 000. */
  maxRecordedRequests?: number;
  /**
   * The most bytes the recorded requests keep (UTF-8 length of paths, queries, headers, bodies
   * and forms), at least 65 536; the oldest are dropped first. A body is kept up to 16 KiB,
   * then cut with a marker. Default 8 MiB (8 388 608).
   */
  maxRecordedBytes?: number;
  /** Print no warnings. Default false. */
  quiet?: boolean;
}

/**
 * The options that {@link ArgusEmulator.configure} can change while the emulator runs.
 *
 * @example
 * const change: ConfigurableOptions = { rejection: 403 };
 */
export type ConfigurableOptions = Partial<
  Pick<
    ArgusEmulatorOptions,
    | 'tokenLifetime'
    | 'codeLifetime'
    | 'issueRefreshTokens'
    | 'refreshTimeout'
    | 'rotateRefreshTokens'
    | 'reuseDetection'
    | 'rejection'
    | 'deniedUser'
    | 'checkClientIP'
  >
>;

/**
 * The emulated endpoints, by name, for {@link ArgusEmulator.requestsTo} and
 * {@link ArgusEmulator.failNext}.
 *
 * @example
 * const endpoint: EndpointName = 'token';
 */
export type EndpointName =
  | 'authorize'
  | 'login'
  | 'portal-logout'
  | 'token'
  | 'currentuser'
  | 'session'
  | 'session-delete'
  | 'userinfo';

/**
 * One request the emulator received, as it arrived. `at` is emulator-clock time in ms.
 *
 * @example
 * const last: RecordedRequest | undefined = emulator.requestsTo('token').at(-1);
 * last?.form?.grant_type; // ['authorization_code']
 */
export interface RecordedRequest {
  endpoint: EndpointName | 'other';
  method: string;
  /** The path as sent, not decoded. */
  path: string;
  /** The raw query string without `?`; empty when there was none. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The raw body as UTF-8 text; empty when there was none. A body over 16 KiB keeps its first
   * 16 KiB followed by `...[cut by the Argus emulator: ...]`.
   */
  body: string;
  /** True when {@link RecordedRequest.body} was cut. */
  bodyTruncated?: boolean;
  /**
   * The parsed body when it was a well-formed `application/x-www-form-urlencoded` form, kept
   * whole (a cut body has none).
   */
  form?: Record<string, string[]>;
  at: number;
}

/**
 * What to do with the next requests to one endpoint instead of (or before) answering normally.
 *
 * `times` defaults to 1. `during` makes the plan last that many ms on the emulator's clock,
 * from when it is added, instead: every request to the endpoint in that time gets it (at most
 * `times` of them when both are given), as in an outage that ends by itself. `delay` waits
 * that many ms first (see {@link FailurePlan.delay} for a client that leaves meanwhile); on
 * its own the request is then answered normally. `status` and `body` answer with that
 * (status defaults to 200 with a body, the body to an Argus envelope error with a status;
 * `contentType` defaults to HTML for a body starting with `<`, else JSON). `hang` never
 * answers, `reset` destroys the socket, `truncate` sends a JSON header and `{"` then ends
 * abruptly, `hugeBody` streams a 200 JSON body of that many bytes, `redirect` answers 302
 * with that `Location`, `drip` sends the headers of a 200 JSON answer and then a byte of
 * body every 50 ms, never ending it.
 *
 * @example
 * emulator.failNext('token', { status: 503, times: 2 });
 * emulator.failNext('token', { status: 503, during: 1500 });
 * emulator.failNext('currentuser', { delay: 50, hang: true });
 * emulator.failNext('token', { drip: true });
 */
export interface FailurePlan {
  times?: number;
  /** Milliseconds on the emulator's clock during which the plan applies, from when it is added. */
  during?: number;
  status?: number;
  body?: string;
  /** Checked by Node's own header rules when the plan is made (no control characters). */
  contentType?: string;
  /**
   * Milliseconds before anything happens. It models a request that reaches Argus late: it is
   * recorded when it arrives, but processed (a code exchanged, a refresh token spent) or
   * misbehaved upon only when the delay ends, and only if the client is still connected then.
   * A client that closes or ends the connection during the delay sent a request that never
   * arrived, so nothing changes in the emulator.
   */
  delay?: number;
  hang?: boolean;
  reset?: boolean;
  truncate?: boolean;
  hugeBody?: number;
  /** Checked by Node's own header rules when the plan is made (no control characters). */
  redirect?: string;
  drip?: boolean;
}

/**
 * One event in the life of an OAuth grant (one login), for tests that check invariants.
 *
 * - `issued`: a code exchange succeeded and the grant began.
 * - `refreshed`: a refresh grant succeeded.
 * - `reused`: a spent refresh token was presented (whatever happened next).
 * - `rejected`: a refresh grant was refused, for any reason; when the refresh token is unknown,
 *   `grantId` and `userName` are `''`.
 * - `ended`: the grant ended (the user logged out of Argus, `DELETE /authentication/v1/session`,
 *   reuse detection, a replayed code, or a refresh past the refresh timeout).
 *
 * A planned failure ({@link ArgusEmulator.failNext}) that answers instead of the emulator is no
 * event: the request never reached Argus' grant logic. Reasons are short snake_case words, such
 * as `user_logout`, `session_delete`, `reuse_detected`, `code_replay`, `refresh_timeout` (for
 * `ended`) and `unknown_token`, `wrong_client`, `grant_ended`, `user_logged_out`,
 * `refresh_timeout`, `reuse_detected`, `token_spent`, `invalid_client`, `invalid_request` (for
 * `rejected`). An event never holds a token or a secret.
 *
 * @example
 * const ended = emulator.grantEvents().filter((event) => event.type === 'ended');
 */
export interface GrantEvent {
  /** The emulator clock, ms since the epoch. */
  at: number;
  type: 'issued' | 'refreshed' | 'reused' | 'rejected' | 'ended';
  /** Opaque, stable per grant (login); never a token. */
  grantId: string;
  userName: string;
  /** For `rejected` and `ended`: short machine-ish text. */
  reason?: string;
}

/**
 * The emulator clock. It starts at the real time and then moves only by an offset, so
 * `now()` is `Date.now() + offset`; a test that fakes `Date` moves it too.
 *
 * @example
 * emulator.clock.advance(301_000); // every access token issued with the default lifetime expired
 */
export interface EmulatorClock {
  /** Emulator time in ms since the epoch. */
  now(): number;
  /** Moves the clock forward (or back, with a negative number) by `ms`. */
  advance(ms: number): void;
  /** Makes `now()` return `epochMs` at this moment. */
  set(epochMs: number): void;
}

/**
 * A running Argus emulator, from {@link startArgusEmulator}. Portal and API share one origin.
 *
 * @example
 * const emulator = await startArgusEmulator();
 * emulator.logoutUser('alice');
 * await emulator.close();
 */
export interface ArgusEmulator {
  /** The origin, such as `http://127.0.0.1:54321`. */
  readonly url: string;
  /** The portal origin: equal to {@link ArgusEmulator.url}. */
  readonly portalURL: string;
  /** The API origin: equal to {@link ArgusEmulator.url}. */
  readonly apiURL: string;
  readonly clients: readonly EmulatorClient[];
  readonly users: readonly EmulatorUser[];
  readonly clock: EmulatorClock;
  /**
   * The recorded requests, oldest first, a fresh copy on each read: the last
   * `maxRecordedRequests` (1 000) within `maxRecordedBytes` (8 MiB).
   */
  readonly requests: readonly RecordedRequest[];
  /** The recorded requests to one endpoint, oldest first. */
  requestsTo(endpoint: EndpointName): RecordedRequest[];
  /**
   * Applies `plan` to the next `plan.times` requests to `endpoint`, or to every request to it
   * for `plan.during` ms (they are still recorded).
   */
  failNext(endpoint: EndpointName, plan: FailurePlan): void;
  /** Logs a user out of Argus: ends their portal sessions and every OAuth grant they have. */
  logoutUser(userName: string): void;
  /** Changes options while running; the change applies to the next request. */
  configure(options: ConfigurableOptions): void;
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /**
   * Back to the start state: no portal sessions, codes, grants, recorded requests or failure
   * plans, clock offset 0, options as started.
   */
  reset(): void;
  /** The number of live grants (of one user, or of everyone). */
  activeGrants(userName?: string): number;
  /**
   * The audit log of grants: the last 10 000 {@link GrantEvent}s, oldest first, a fresh copy on
   * each call. `reset()` clears it. Over the control API: `GET /__emulator/grant-events`.
   */
  grantEvents(): readonly GrantEvent[];
  /** Stops the server and ends every open connection, hanging ones included. */
  close(): Promise<void>;
}
