import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EndReason, GrantEventLog, RejectReason } from './grant-events.ts';
import type { ResolvedUser, Settings } from './options.ts';
import type { EmulatorClock, GrantEvent } from './types.ts';

/**
 * The emulator clock: real time plus an offset that tests move. Reading `Date.now()` each time
 * (rather than freezing a value) keeps faked timers in a test in charge of it too.
 */
export class Clock implements EmulatorClock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  advance(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new TypeError('Argus emulator: clock.advance(ms) needs a finite number');
    }
    this.#offset += ms;
  }

  set(epochMs: number): void {
    if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) {
      throw new TypeError('Argus emulator: clock.set(epochMs) needs a finite number');
    }
    this.#offset = epochMs - Date.now();
  }

  /** Back to real time. */
  reset(): void {
    this.#offset = 0;
  }
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of base62 drawn without modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes above it would favour the first letters.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** base64url(sha256(verifier)), the S256 transform of RFC 7636 §4.2. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

interface PortalSession {
  readonly userName: string;
}

/** What the authorize request bound a code to. */
export interface CodeRequest {
  readonly clientID: string;
  readonly redirectUri: string;
  readonly codeChallenge: string | undefined;
  readonly scope: string | undefined;
  readonly userName: string;
  readonly portalSession: string;
  readonly browserIP: string;
}

interface CodeRecord extends CodeRequest {
  readonly expiresAt: number;
  /** Set once the code was exchanged: the grant it produced, which a replay revokes. */
  grantId: string | undefined;
}

/** An OAuth session of one user with one client: its tokens live and die together. */
export interface Grant {
  readonly id: string;
  readonly clientID: string;
  readonly userName: string;
  readonly scope: string | undefined;
  readonly browserIP: string;
  ended: boolean;
  /** How the grant ended, once it has. */
  endReason: EndReason | undefined;
  lastIssuedAt: number;
  refreshToken: string | null;
  accessExpiresAt: number;
}

interface AccessTokenRecord {
  readonly grantId: string;
  readonly expiresAt: number;
}

interface RefreshTokenRecord {
  readonly grantId: string;
  spent: boolean;
}

/** Tokens handed out to the client by a code exchange or a refresh. */
export interface IssuedTokens {
  readonly accessToken: string;
  readonly refreshToken: string | null;
  readonly expiresIn: number;
  readonly scope: string | undefined;
}

/** The outcome of a code exchange or refresh; `reason` becomes the error_description. */
export type GrantResult =
  | { readonly ok: true; readonly grant: Grant; readonly tokens: IssuedTokens }
  | { readonly ok: false; readonly reason: string };

/** A valid access token, with the grant and user behind it. */
export interface TokenInfo {
  readonly grant: Grant;
  readonly user: ResolvedUser;
  readonly expiresAt: number;
}

/**
 * The fewest codes (and access tokens) held before a prune reads them all. A prune waits
 * until its map has doubled since the last one, so that each new entry pays for a bounded
 * share of the reading: pruning on every new entry cost each login a read of every code
 * the emulator had ever issued, and a long benchmark run slowed down login by login.
 */
const PRUNE_FLOOR = 1024;

/** True when a map of `size` entries is due for a prune, `afterPrune` having been left by the last. */
function dueForPrune(size: number, afterPrune: number): boolean {
  return size >= Math.max(PRUNE_FLOOR, 2 * afterPrune);
}

/**
 * Everything Argus remembers: portal sessions, codes, grants and tokens. Protocol rules that
 * need this memory live here; the HTTP handlers only translate requests and answers.
 */
export class EmulatorState {
  readonly #clock: Clock;
  readonly #settings: () => Settings;
  readonly #users: ReadonlyMap<string, ResolvedUser>;
  #portalSessions = new Map<string, PortalSession>();
  #codes = new Map<string, CodeRecord>();
  #grants = new Map<string, Grant>();
  #accessTokens = new Map<string, AccessTokenRecord>();
  #refreshTokens = new Map<string, RefreshTokenRecord>();
  /** Codes left by the last prune; the next prune waits until there are twice as many. */
  #codesAfterPrune = 0;
  /** Access tokens left by the last prune, likewise. */
  #accessTokensAfterPrune = 0;
  readonly #events: GrantEventLog;

  constructor(
    clock: Clock,
    settings: () => Settings,
    users: readonly ResolvedUser[],
    events: GrantEventLog,
  ) {
    this.#clock = clock;
    this.#settings = settings;
    this.#users = new Map(users.map((user) => [user.userName, user]));
    this.#events = events;
  }

  /** Logs one grant event; an unknown grant is logged with empty id and user name. */
  #log(type: GrantEvent['type'], grant: Grant | undefined, reason?: string): void {
    const event: GrantEvent = {
      at: this.#clock.now(),
      type,
      grantId: grant?.id ?? '',
      userName: grant?.userName ?? '',
    };
    if (reason !== undefined) event.reason = reason;
    this.#events.add(event);
  }

  /** A refused refresh: logs `rejected` and returns the refusal. */
  #rejectRefresh(grant: Grant | undefined, reason: RejectReason, text: string): GrantResult {
    this.#log('rejected', grant, reason);
    return { ok: false, reason: text };
  }

  /**
   * Logs a refresh grant that the token endpoint refused before it reached {@link refresh}
   * (bad client authentication, a malformed request), under the grant of the token if known.
   */
  refreshRefused(refreshToken: string | undefined, reason: RejectReason): void {
    const record = refreshToken === undefined ? undefined : this.#refreshTokens.get(refreshToken);
    this.#log(
      'rejected',
      record === undefined ? undefined : this.#grants.get(record.grantId),
      reason,
    );
  }

  /** The user of that name, if there is one. */
  user(userName: string): ResolvedUser | undefined {
    return this.#users.get(userName);
  }

  /** Starts a portal login and returns the cookie value that names it. */
  createPortalSession(userName: string): string {
    const id = randomBytes(32).toString('base64url');
    this.#portalSessions.set(id, { userName });
    return id;
  }

  /** The user logged in with this portal cookie value, if the session is still on. */
  portalUser(sessionId: string | undefined): ResolvedUser | undefined {
    if (sessionId === undefined) return undefined;
    const session = this.#portalSessions.get(sessionId);
    return session === undefined ? undefined : this.#users.get(session.userName);
  }

  /** A new one-time code for an approved authorize request, valid for `codeLifetime` ms. */
  createCode(request: CodeRequest): string {
    if (dueForPrune(this.#codes.size, this.#codesAfterPrune)) this.#pruneCodes();
    const code = randomUUID();
    const expiresAt = this.#clock.now() + this.#settings().codeLifetime;
    this.#codes.set(code, { ...request, expiresAt, grantId: undefined });
    return code;
  }

  /**
   * Exchanges a code for a new grant (RFC 6749 §4.1.3). A code is one-time: the second use is
   * refused and also revokes the grant of the first (RFC 6749 §4.1.2), since a replay means the
   * code leaked.
   */
  redeemCode(
    code: string,
    clientID: string,
    redirectUri: string,
    codeVerifier: string | undefined,
  ): GrantResult {
    const record = this.#codes.get(code);
    if (record === undefined) return { ok: false, reason: 'The authorization code is unknown' };
    if (record.clientID !== clientID) {
      return { ok: false, reason: 'The authorization code was issued to another client' };
    }
    if (record.grantId !== undefined) {
      this.endGrant(record.grantId, 'code_replay');
      return {
        ok: false,
        reason: 'The authorization code was already used; the grant it produced is revoked',
      };
    }
    if (this.#clock.now() > record.expiresAt) {
      return { ok: false, reason: 'The authorization code expired' };
    }
    if (!this.#portalSessions.has(record.portalSession)) {
      // The code belongs to the portal login that approved it; once that ended, so did the code.
      return { ok: false, reason: 'The user logged out of Argus before the code was exchanged' };
    }
    if (record.redirectUri !== redirectUri) {
      return {
        ok: false,
        reason: 'redirect_uri does not match the one of the authorization request',
      };
    }
    if (record.codeChallenge === undefined) {
      if (codeVerifier !== undefined) {
        return { ok: false, reason: 'code_verifier sent, but the authorization had no challenge' };
      }
    } else if (codeVerifier === undefined) {
      return { ok: false, reason: 'code_verifier is required for this authorization code' };
    } else if (s256(codeVerifier) !== record.codeChallenge) {
      return { ok: false, reason: 'code_verifier does not match the code_challenge' };
    }
    const grant: Grant = {
      id: randomUUID(),
      clientID,
      userName: record.userName,
      scope: record.scope,
      browserIP: record.browserIP,
      ended: false,
      endReason: undefined,
      lastIssuedAt: 0,
      refreshToken: null,
      accessExpiresAt: 0,
    };
    this.#grants.set(grant.id, grant);
    record.grantId = grant.id;
    const refreshToken = this.#settings().issueRefreshTokens ? this.#newRefreshToken(grant) : null;
    const tokens = this.#issueAccessToken(grant, refreshToken);
    this.#log('issued', grant);
    return { ok: true, grant, tokens };
  }

  /**
   * A refresh (RFC 6749 §6). The previous access token keeps working until its own expiry.
   * With rotation the used refresh token is spent; presenting a spent one again is the sign of
   * a stolen token, so with reuse detection the whole grant ends.
   */
  refresh(refreshToken: string, clientID: string): GrantResult {
    const record = this.#refreshTokens.get(refreshToken);
    const grant = record === undefined ? undefined : this.#grants.get(record.grantId);
    if (record === undefined || grant === undefined) {
      return this.#rejectRefresh(undefined, 'unknown_token', 'The refresh token is unknown');
    }
    // Logged whatever comes next: the spent token was presented, by whichever client.
    if (record.spent) this.#log('reused', grant);
    if (grant.clientID !== clientID) {
      return this.#rejectRefresh(
        grant,
        'wrong_client',
        'The refresh token was issued to another client',
      );
    }
    if (grant.ended) {
      return this.#rejectRefresh(
        grant,
        grant.endReason === 'user_logout'
          ? 'user_logged_out'
          : grant.endReason === 'refresh_timeout'
            ? 'refresh_timeout'
            : 'grant_ended',
        'The OAuth session has ended (the user logged out or it was revoked)',
      );
    }
    const settings = this.#settings();
    if (record.spent) {
      if (settings.reuseDetection) {
        this.endGrant(grant.id, 'reuse_detected');
        return this.#rejectRefresh(
          grant,
          'reuse_detected',
          'The refresh token was already used; the OAuth session is revoked',
        );
      }
      return this.#rejectRefresh(grant, 'token_spent', 'The refresh token was already used');
    }
    const now = this.#clock.now();
    if (settings.refreshTimeout !== null && now > grant.lastIssuedAt + settings.refreshTimeout) {
      // "The OAuth session must be refreshed within the refresh timeout": past it, it is over.
      this.endGrant(grant.id, 'refresh_timeout');
      return this.#rejectRefresh(
        grant,
        'refresh_timeout',
        'The refresh timeout passed; the OAuth session has ended',
      );
    }
    let returned: string | null = null;
    if (settings.rotateRefreshTokens) {
      record.spent = true;
      returned = this.#newRefreshToken(grant);
    }
    // Without rotation the answer leaves refresh_token out, so the client keeps its token.
    const tokens = this.#issueAccessToken(grant, returned);
    this.#log('refreshed', grant);
    return { ok: true, grant, tokens };
  }

  /** The grant and user behind a bearer token, or undefined when it is not (or no more) valid. */
  tokenInfo(accessToken: string): TokenInfo | undefined {
    const record = this.#accessTokens.get(accessToken);
    if (record === undefined || this.#clock.now() >= record.expiresAt) return undefined;
    const grant = this.#grants.get(record.grantId);
    if (grant === undefined || grant.ended) return undefined;
    const user = this.#users.get(grant.userName);
    return user === undefined ? undefined : { grant, user, expiresAt: record.expiresAt };
  }

  /** Ends a grant: its access and refresh tokens stop working. Logs `ended` the first time. */
  endGrant(grantId: string, reason: EndReason): void {
    const grant = this.#grants.get(grantId);
    if (grant === undefined || grant.ended) return;
    grant.ended = true;
    grant.endReason = reason;
    this.#log('ended', grant, reason);
    // Its access tokens answer 401 from now on (`tokenInfo` reads the grant); the next prune
    // drops them. Deleting them here read every access token ever issued, at every logout.
  }

  /**
   * Logs a user out of Argus: every portal session and grant of theirs ends (and with the
   * portal sessions, the codes not yet exchanged). Argus:
   * "If at the time of refresh, the authorizing user is logged out, the OAuth session will be
   * rejected."
   */
  logoutUser(userName: string): void {
    for (const [id, session] of this.#portalSessions) {
      if (session.userName === userName) this.#portalSessions.delete(id);
    }
    for (const grant of this.#grants.values()) {
      if (grant.userName === userName) this.endGrant(grant.id, 'user_logout');
    }
  }

  /** The user of a portal session, which is then ended; undefined when there was none. */
  endPortalSession(sessionId: string | undefined): string | undefined {
    if (sessionId === undefined) return undefined;
    const session = this.#portalSessions.get(sessionId);
    this.#portalSessions.delete(sessionId);
    return session?.userName;
  }

  /**
   * Grants that can still be used: not ended, and holding either an unexpired access token or a
   * refresh token that the refresh timeout has not yet killed.
   */
  activeGrants(userName?: string): number {
    const now = this.#clock.now();
    const { refreshTimeout } = this.#settings();
    let count = 0;
    for (const grant of this.#grants.values()) {
      if (grant.ended || (userName !== undefined && grant.userName !== userName)) continue;
      const accessLive = now < grant.accessExpiresAt;
      const refreshLive =
        grant.refreshToken !== null &&
        (refreshTimeout === null || now <= grant.lastIssuedAt + refreshTimeout);
      if (accessLive || refreshLive) count++;
    }
    return count;
  }

  /** Forgets everything. */
  reset(): void {
    this.#portalSessions.clear();
    this.#codes.clear();
    this.#grants.clear();
    this.#accessTokens.clear();
    this.#refreshTokens.clear();
    this.#codesAfterPrune = 0;
    this.#accessTokensAfterPrune = 0;
  }

  #newRefreshToken(grant: Grant): string {
    const token = randomBase62(48);
    this.#refreshTokens.set(token, { grantId: grant.id, spent: false });
    grant.refreshToken = token;
    return token;
  }

  #issueAccessToken(grant: Grant, refreshToken: string | null): IssuedTokens {
    const { tokenLifetime } = this.#settings();
    const now = this.#clock.now();
    if (dueForPrune(this.#accessTokens.size, this.#accessTokensAfterPrune))
      this.#pruneAccessTokens(now);
    // Argus access tokens look like `<userName>/<64 random characters>`.
    const accessToken = `${grant.userName}/${randomBase62(64)}`;
    const expiresAt = now + tokenLifetime;
    this.#accessTokens.set(accessToken, { grantId: grant.id, expiresAt });
    grant.lastIssuedAt = now;
    grant.accessExpiresAt = expiresAt;
    return {
      accessToken,
      refreshToken,
      expiresIn: Math.round(tokenLifetime / 1000),
      scope: grant.scope,
    };
  }

  /**
   * Drops access tokens a day past their expiry and those of ended grants; they could only
   * ever answer 401 again.
   */
  #pruneAccessTokens(now: number): void {
    for (const [token, record] of this.#accessTokens) {
      if (
        record.expiresAt < now - 86_400_000 ||
        this.#grants.get(record.grantId)?.ended !== false
      ) {
        this.#accessTokens.delete(token);
      }
    }
    this.#accessTokensAfterPrune = this.#accessTokens.size;
  }

  /**
   * Drops codes long past their expiry so a long-running emulator does not grow without end
   * (called once the codes have doubled: see {@link PRUNE_FLOOR}). Recently expired and
   * used codes stay, so that a replay can still revoke its grant.
   */
  #pruneCodes(): void {
    const horizon = this.#clock.now() - 10 * Math.max(this.#settings().codeLifetime, 60_000);
    for (const [code, record] of this.#codes) {
      if (record.expiresAt < horizon) this.#codes.delete(code);
    }
    this.#codesAfterPrune = this.#codes.size;
  }
}
