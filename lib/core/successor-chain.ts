/**
 * The successors of one session's token sets, as a chain: each refresh links the
 * fingerprint of the set it replaced to what replaced it, which names its own fingerprint
 * (`next`). A request holding any older set, however stale (it loaded the session long
 * ago, or a stale copy was saved over newer tokens), follows the chain to the newest set
 * known instead of presenting a refresh token that was already spent: under rotation that
 * would end the session.
 */

/** The most links kept per session, and followed in one walk; older links go first. */
export const MAX_LINKS = 64;

/** What a chain links to: anything that names the fingerprint of the set it holds. */
export interface ChainLink {
  /** The fingerprint of the set this link holds: where the walk goes next. */
  readonly next: string;
}

/** One session's chain: replaced fingerprint → the link that replaced it. */
export class SuccessorChain<L extends ChainLink> {
  readonly #links = new Map<string, L>();

  /** Links `link` as the successor of the set fingerprinted `replaced`. */
  add(replaced: string, link: L): void {
    this.#links.delete(replaced);
    this.#links.set(replaced, link);
    if (this.#links.size > MAX_LINKS) {
      const oldest = this.#links.keys().next().value;
      if (oldest !== undefined) this.#links.delete(oldest);
    }
  }

  /** The newest link reachable from the set fingerprinted `from`, if it was replaced. */
  newest(from: string): L | undefined {
    let found: L | undefined;
    let at = from;
    for (let hop = 0; hop < MAX_LINKS; hop++) {
      const next = this.#links.get(at);
      if (next === undefined) break;
      found = next;
      at = next.next;
    }
    return found;
  }
}
