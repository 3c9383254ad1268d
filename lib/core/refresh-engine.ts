/**
 * One refresh per session, however many requests ask at once. Requests of one session
 * that need a refresh while one is under way wait for it and take its result; requests
 * that arrive shortly after it, still holding the replaced access token (they loaded the
 * session before the new tokens were written), take its result too instead of spending
 * the refresh token a second time, which a rotating Argus would punish with a logout.
 */
import { EventEmitter } from 'node:events';
import type { ArgusClient } from './argus-client.ts';
import type { ArgusError } from './errors.ts';
import { log } from './log.ts';
import type { ArgusTokenSet } from './token-set.ts';

/** Why a user was logged out. */
export type LogoutReason =
  /** Argus rejected the refresh (`invalid_grant`, 401, 403). */
  | 'rejected'
  /** The refresh timeout passed without a refresh. */
  | 'refresh_timeout'
  /** The token expired and there was no refresh token. */
  | 'expired'
  /** The user or the app asked for it (`argusLogout`, `req.argus.logout()`). */
  | 'user';

/** The events an {@link ArgusStrategy} emits on `strategy.events`. None carries a token. */
export interface ArgusEvents {
  /** A user logged in. */
  login: [{ user: unknown }];
  /** A token set was refreshed with Argus (once per refresh call, not per waiting request). */
  refresh: [{ user: unknown; expiresAt: Date }];
  /** A refresh failed because Argus was unavailable; the session was kept. */
  'refresh-failed': [{ user: unknown; error: ArgusError; tokenStillValid: boolean }];
  /** A user was logged out, with the reason. */
  logout: [{ user: unknown; reason: LogoutReason }];
}

/** A finished refresh, kept for late requests still holding the replaced token. */
interface Recent {
  replaced: string;
  result: ArgusTokenSet;
  timer: NodeJS.Timeout;
}

/** A refresh under way. */
interface InFlight {
  replaced: string;
  promise: Promise<ArgusTokenSet>;
}

/** What {@link RefreshEngine.refresh} resolves to. */
export interface RefreshResult {
  tokens: ArgusTokenSet;
  /** True for the one caller whose call went to Argus; it should save the session. */
  leader: boolean;
}

/**
 * Refreshes token sets, one Argus call per session at a time. Keyed by session id;
 * entries leave the registry when the call settles, and the finished result stays
 * `grace` ms for late requests.
 */
export class RefreshEngine extends EventEmitter<ArgusEvents> {
  readonly #client: ArgusClient;
  readonly #grace: number;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #recent = new Map<string, Recent>();

  constructor(client: ArgusClient, grace: number) {
    super();
    this.#client = client;
    this.#grace = grace;
  }

  /** The client this engine refreshes with. */
  get client(): ArgusClient {
    return this.#client;
  }

  /** Refreshes under way plus finished ones still kept for late requests. */
  get registrySize(): number {
    return this.#inFlight.size + this.#recent.size;
  }

  /**
   * Returns a refreshed token set for the session `key` whose current set is `current`,
   * calling Argus only when no refresh of that same access token is under way or just
   * finished.
   */
  async refresh(
    key: string,
    current: ArgusTokenSet,
    clientIp: string | undefined,
  ): Promise<RefreshResult> {
    const recent = this.#recent.get(key);
    if (recent !== undefined && recent.replaced === current.accessToken) {
      return { tokens: recent.result, leader: false };
    }
    const running = this.#inFlight.get(key);
    if (running !== undefined && running.replaced === current.accessToken) {
      return { tokens: await running.promise, leader: false };
    }
    const promise = this.#client.refresh(current, clientIp);
    const entry: InFlight = { replaced: current.accessToken, promise };
    this.#inFlight.set(key, entry);
    log.refresh('refresh started');
    try {
      const tokens = await promise;
      this.#remember(key, current.accessToken, tokens);
      log.refresh('refresh done');
      return { tokens, leader: true };
    } finally {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    }
  }

  #remember(key: string, replaced: string, result: ArgusTokenSet): void {
    const old = this.#recent.get(key);
    if (old !== undefined) clearTimeout(old.timer);
    const timer = setTimeout(() => {
      if (this.#recent.get(key)?.timer === timer) this.#recent.delete(key);
    }, this.#grace);
    timer.unref();
    this.#recent.set(key, { replaced, result, timer });
  }

  /** Forgets a session (it was logged out), so no late request revives its tokens. */
  forget(key: string): void {
    const recent = this.#recent.get(key);
    if (recent !== undefined) {
      clearTimeout(recent.timer);
      this.#recent.delete(key);
    }
  }
}
