/**
 * Authenticated encryption of a secret kept at rest: AES-256-GCM through `node:crypto`, a
 * random 96-bit IV for every seal, and additional authenticated data that binds the sealed
 * text to where it may be opened (a session id), so that a copy moved elsewhere does not
 * open. The sealed text names the key it was sealed with: a keyring that still holds an
 * older key opens what that key sealed, which is what a key rotation needs.
 *
 * The sealed form is one string, safe in any JSON store:
 *
 * ```
 * v1.<key id>.<IV, base64url>.<ciphertext followed by the 128-bit tag, base64url>
 * ```
 */
import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';

/** The format's version, the sealed text's first field. */
const PREFIX = 'v1.';
/** 96 bits: the IV length GCM is specified for (NIST SP 800-38D §8.2). */
const IV_BYTES = 12;
/** The full 128-bit GCM tag: shorter tags weaken the authentication. */
const TAG_BYTES = 16;

/** One key of a keyring: the id written into what it seals, and the AES-256 key itself. */
export interface SealingKey {
  /** Letters, digits, `_` and `-`: it is a field of the sealed text, between dots. */
  readonly id: string;
  /** 32 bytes, as a secret `KeyObject` (which prints no key material). */
  readonly key: KeyObject;
}

/** The pattern a key id must match, so that it never contains the sealed form's `.`. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Seals `plaintext` with `key`, bound to `context` (authenticated, not encrypted). */
export function seal(plaintext: string, key: SealingKey, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([
    cipher.update(plaintext, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return `${PREFIX}${key.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/**
 * The id of the key that sealed `sealed`, read from its text alone (no decryption), or
 * `undefined` when the text is not in the sealed form. Cheap: it runs where the guard
 * decides whether a request may go on.
 */
export function sealedKeyId(sealed: string): string | undefined {
  if (!sealed.startsWith(PREFIX)) return undefined;
  const end = sealed.indexOf('.', PREFIX.length);
  return end > PREFIX.length ? sealed.slice(PREFIX.length, end) : undefined;
}

/**
 * Opens `sealed` with the key `keyFor` gives for its key id, checking that it was sealed
 * for `context`. `undefined` for anything that does not open: an unknown key, a wrong
 * context, a changed byte, a malformed text. Why is not told: none of these is the
 * caller's to repair, and each means the same to it.
 */
export function open(
  sealed: string,
  keyFor: (id: string) => KeyObject | undefined,
  context: string,
): string | undefined {
  const id = sealedKeyId(sealed);
  if (id === undefined) return undefined;
  const key = keyFor(id);
  if (key === undefined) return undefined;
  const rest = sealed.slice(PREFIX.length + id.length + 1);
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  const iv = Buffer.from(rest.slice(0, dot), 'base64url');
  const body = Buffer.from(rest.slice(dot + 1), 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const text = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return text.toString('utf8');
  } catch {
    // The tag did not verify: another key, another context, or a changed byte.
    return undefined;
  }
}
