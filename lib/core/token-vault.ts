/**
 * A token set in the forms the package stores it in, and the one place that seals and
 * opens them. With `encryptionKeys`, every copy that leaves the process is sealed
 * (AES-256-GCM, bound to the session id): the session record's `argus` value and the
 * successor records a coordinator keeps. Without, they are stored as they are.
 *
 * A sealed session value keeps `expiresAt` and `obtainedAt` in clear beside the sealed
 * text: they are not secret, and the guard decides "fresh" by them alone, so a request
 * with a fresh token decrypts nothing. Opening checks them against the sealed copy, so a
 * changed time is found out as soon as a token is needed.
 */
import type { Keyring } from './encryption-keys.ts';
import { isJsonObject } from './http-client.ts';
import { open, seal, sealedKeyId } from './seal.ts';
import { type ArgusTokenSet, isTime, isTokenSet } from './token-set.ts';

/** A session record's token set when sealed: the secrets sealed, the times in clear. */
export interface SealedTokens {
  /** The whole token set, sealed for this session (see `seal.ts` for the form). */
  sealed: string;
  /** When the access token expires (ms since the epoch), as in the sealed set. */
  expiresAt: number;
  /** When the access token was obtained (ms since the epoch), as in the sealed set. */
  obtainedAt: number;
}

/** A token set as a session record holds it: in clear, or sealed. */
export type StoredTokens = ArgusTokenSet | SealedTokens;

/** The times a guard decides by, present in both stored forms. */
export type TokenTimes = Pick<ArgusTokenSet, 'expiresAt' | 'obtainedAt'>;

/** True for a sealed session value of the right shape (whether it opens is another matter). */
export function isSealedTokens(value: unknown): value is SealedTokens {
  return (
    isJsonObject(value) &&
    typeof value.sealed === 'string' &&
    isTime(value.expiresAt) &&
    isTime(value.obtainedAt)
  );
}

/** True for a session value in either stored form. */
export function isStoredTokens(value: unknown): value is StoredTokens {
  // The clear form first: without encryptionKeys it is the only one, asked on every request.
  return isTokenSet(value) || isSealedTokens(value);
}

/**
 * The additional authenticated data of a sealed token set: the session it belongs to.
 * A sealed value copied into another session's record (or successor records) does not open.
 */
function contextOf(sessionId: string): string {
  return `passport-argus token set\0${sessionId}`;
}

/**
 * Seals and opens token sets for one strategy. Without a keyring it stores sets in clear
 * and opens only clear ones; with one, it seals with the keyring's first key and opens
 * what any of its keys sealed, and clear sets too (stored before encryption was turned
 * on: they are sealed on their next write instead of logging everyone out).
 */
export class TokenVault {
  readonly #keys: Keyring | undefined;

  constructor(keys?: Keyring) {
    this.#keys = keys;
  }

  /** True when token sets are sealed at rest. */
  get seals(): boolean {
    return this.#keys !== undefined;
  }

  /**
   * Whether `stored` may open here, told without decrypting: a clear set, or one sealed
   * with a key this vault holds. The guard's hot path asks it on every request.
   */
  mayOpen(stored: StoredTokens): boolean {
    const { sealed } = stored as Partial<SealedTokens>;
    if (sealed === undefined) return true;
    const id = sealedKeyId(sealed);
    return id !== undefined && this.#keys?.has(id) === true;
  }

  /**
   * The token set of session `sessionId`'s stored value, or `undefined` when it does not
   * open: sealed with a key this vault lacks, for another session, changed, or malformed.
   */
  open(stored: StoredTokens, sessionId: string): ArgusTokenSet | undefined {
    if (!('sealed' in stored)) return stored;
    const tokens = this.#unseal(stored.sealed, sessionId);
    // The clear times must be the sealed ones: the guard went by them.
    if (tokens?.expiresAt !== stored.expiresAt || tokens.obtainedAt !== stored.obtainedAt) {
      return undefined;
    }
    return tokens;
  }

  /**
   * What the session store should receive instead of `value` (a session record's token
   * set) for session `sessionId`: the set sealed with the current key. A clear set is
   * sealed, and one sealed with an older key of the keyring is sealed again with the
   * current one. `undefined` when the value is to be stored as it is: nothing to seal, or
   * already sealed with the current key, or a value that does not open.
   */
  forStore(value: unknown, sessionId: string): SealedTokens | undefined {
    const keys = this.#keys;
    if (keys === undefined) return undefined;
    let tokens: ArgusTokenSet | undefined;
    if (isSealedTokens(value)) {
      if (sealedKeyId(value.sealed) === keys.current.id) return undefined;
      tokens = this.open(value, sessionId);
    } else if (isTokenSet(value)) {
      tokens = value;
    }
    if (tokens === undefined) return undefined;
    return {
      sealed: seal(JSON.stringify(tokens), keys.current, contextOf(sessionId)),
      expiresAt: tokens.expiresAt,
      obtainedAt: tokens.obtainedAt,
    };
  }

  /**
   * A token set of session `sessionId` as a coordinator keeps it: text it stores without
   * reading, sealed when this vault seals, else JSON.
   */
  toRecord(tokens: ArgusTokenSet, sessionId: string): string {
    const text = JSON.stringify(tokens);
    const keys = this.#keys;
    return keys === undefined ? text : seal(text, keys.current, contextOf(sessionId));
  }

  /**
   * The token set in text made by {@link TokenVault.toRecord} for session `sessionId`, or
   * `undefined` when it does not open or is not a token set.
   */
  fromRecord(text: string, sessionId: string): ArgusTokenSet | undefined {
    if (sealedKeyId(text) !== undefined) return this.#unseal(text, sessionId);
    return parseTokens(text);
  }

  #unseal(sealed: string, sessionId: string): ArgusTokenSet | undefined {
    const keys = this.#keys;
    if (keys === undefined) return undefined;
    const text = open(sealed, (id) => keys.key(id), contextOf(sessionId));
    return text === undefined ? undefined : parseTokens(text);
  }
}

/** A token set in JSON text, if it is one. */
function parseTokens(text: string): ArgusTokenSet | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isTokenSet(value) ? value : undefined;
}
