/**
 * Fingerprints of secrets, so that coordination can key and link things without keeping
 * the secret itself.
 */
import { createHash } from 'node:crypto';
import type { ArgusTokenSet } from './token-set.ts';

/**
 * A fingerprint of a secret (an access token, a state): lets the coordinator key and
 * record things without keeping the secret itself.
 */
export function fingerprintOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 32);
}

/** The fingerprint of a token set's access token. */
export function fingerprint(tokens: ArgusTokenSet): string {
  return fingerprintOf(tokens.accessToken);
}
