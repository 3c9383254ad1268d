/**
 * The successors of one session's token sets, as a chain: each refresh links the
 * fingerprint of the set it replaced to the set Argus answered. A request holding any
 * older set, however stale (it loaded the session long ago, or a stale copy was saved over
 * newer tokens), follows the chain to the newest set known instead of presenting a
 * refresh token that was already spent: under rotation that would end the session.
 */
import { fingerprint } from './fingerprint.ts';
import type { ArgusTokenSet } from './token-set.ts';

/** The most links kept per session, and followed in one walk; older links go first. */
export const MAX_LINKS = 64;

/** One session's chain: replaced fingerprint → the set that replaced it. */
export class SuccessorChain {
  readonly #links = new Map<string, ArgusTokenSet>();

  /** Links `tokens` as the successor of the set fingerprinted `replaced`. */
  add(replaced: string, tokens: ArgusTokenSet): void {
    this.#links.delete(replaced);
    this.#links.set(replaced, tokens);
    if (this.#links.size > MAX_LINKS) {
      const oldest = this.#links.keys().next().value;
      if (oldest !== undefined) this.#links.delete(oldest);
    }
  }

  /** The newest set reachable from the one fingerprinted `from`, if it was replaced. */
  newest(from: string): ArgusTokenSet | undefined {
    let found: ArgusTokenSet | undefined;
    let at = from;
    for (let hop = 0; hop < MAX_LINKS; hop++) {
      const next = this.#links.get(at);
      if (next === undefined) break;
      found = next;
      at = fingerprint(next);
    }
    return found;
  }
}
