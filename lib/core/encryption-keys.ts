/**
 * The `encryptionKeys` option of ArgusStrategy, validated into a keyring: the first key
 * seals, every key opens. Error messages name the option and the key's place in the list,
 * and say what is wrong with its length, never anything of the key itself.
 */
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { KEY_ID_PATTERN, type SealingKey } from './seal.ts';

/** A key of `encryptionKeys` with an id of its own choosing. */
export interface EncryptionKey {
  /**
   * Names the key in everything it seals, so that a rotation finds it: 1–64 letters,
   * digits, `_` or `-`, e.g. `'2026-12'`. Ids must differ within the list.
   */
  id: string;
  /**
   * 32 random bytes: a `Buffer` (or `Uint8Array`), or their base64 or base64url text as
   * printed by `openssl rand -base64 32`.
   */
  key: string | Uint8Array;
}

/**
 * One entry of `encryptionKeys`: an {@link EncryptionKey}, or a bare key (32 bytes, or
 * their base64 text), whose id is then derived from the key itself (a hash, not the key).
 */
export type EncryptionKeyInput = EncryptionKey | string | Uint8Array;

/** The length of an AES-256 key, in bytes. */
const KEY_BYTES = 32;

/** The keys that seal and open token sets at rest; the first one seals. */
export class Keyring {
  readonly #current: SealingKey;
  readonly #byId: ReadonlyMap<string, KeyObject>;

  constructor(keys: readonly SealingKey[]) {
    const [current] = keys;
    if (current === undefined) throw new TypeError('A keyring needs at least one key');
    this.#current = current;
    this.#byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The key that seals: the first of the list. */
  get current(): SealingKey {
    return this.#current;
  }

  /** The key with this id, if the keyring holds it. */
  key(id: string): KeyObject | undefined {
    return this.#byId.get(id);
  }

  /** True when the keyring holds a key with this id. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }
}

const OPTION = 'ArgusStrategy option "encryptionKeys"';
const HOW = 'make one with: openssl rand -base64 32';

/** base64 or base64url text of exactly 32 bytes (43 characters, and one `=` of padding at most). */
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/** The 32 bytes of one key, or a TypeError that says what is wrong with its length. */
function keyBytes(value: unknown, where: string): Buffer {
  if (typeof value === 'string') {
    // A key read from a file or an environment variable often ends with a newline.
    const text = value.trim();
    if (!BASE64_KEY.test(text)) {
      const length = Buffer.from(text, 'base64').length;
      throw new TypeError(
        `${OPTION}: ${where} is not 32 bytes in base64 (it reads as ${length} bytes); ${HOW}`,
      );
    }
    return Buffer.from(text, 'base64');
  }
  if (value instanceof Uint8Array) {
    if (value.length !== KEY_BYTES) {
      throw new TypeError(
        `${OPTION}: ${where} has ${value.length} bytes; AES-256 needs exactly 32 random bytes; ${HOW}`,
      );
    }
    return Buffer.from(value);
  }
  throw new TypeError(
    `${OPTION}: ${where} must be a base64 string or a Buffer of 32 bytes, or { id, key } with one`,
  );
}

/** The id of a bare key: a hash of the key, so the same key always gets the same id. */
function derivedId(bytes: Buffer): string {
  return createHash('sha256')
    .update('passport-argus key id\0')
    .update(bytes)
    .digest('base64url')
    .slice(0, 12);
}

function sealingKey(entry: unknown, index: number): SealingKey {
  const where = `key [${index}]`;
  if (typeof entry === 'string' || entry instanceof Uint8Array) {
    const bytes = keyBytes(entry, where);
    return { id: derivedId(bytes), key: createSecretKey(bytes) };
  }
  if (typeof entry !== 'object' || entry === null) {
    throw new TypeError(
      `${OPTION}: ${where} must be a base64 string or a Buffer of 32 bytes, or { id, key } with one`,
    );
  }
  const { id, key } = entry as { id?: unknown; key?: unknown };
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    throw new TypeError(
      `${OPTION}: ${where} needs an id of 1 to 64 letters, digits, "_" or "-" (such as "2026-12")`,
    );
  }
  return { id, key: createSecretKey(keyBytes(key, `${where} ("${id}")`)) };
}

/**
 * Validates `encryptionKeys`: one key or a non-empty list of them, newest first. Returns
 * `undefined` when the option is absent (token sets are then stored in clear), and throws
 * a `TypeError` naming the option for anything else that is not a valid key list: an empty
 * list would most likely be an unset environment variable, and silently storing tokens in
 * clear is not what whoever wrote it meant.
 */
export function keyringOf(value: unknown): Keyring | undefined {
  if (value === undefined) return undefined;
  const entries: unknown[] = Array.isArray(value) ? value : [value];
  if (entries.length === 0) {
    throw new TypeError(`${OPTION} must hold at least one key (the first one seals); ${HOW}`);
  }
  const keys = entries.map(sealingKey);
  const ids = new Set<string>();
  for (const { id } of keys) {
    if (ids.has(id)) {
      throw new TypeError(`${OPTION} has the key id "${id}" twice; ids must differ`);
    }
    ids.add(id);
  }
  return new Keyring(keys);
}
