/**
 * Timers of delayed and dripping answers, kept in one place so that `close()` can clear them all
 * instead of waiting for them.
 */
export class Timers {
  #pending = new Set<NodeJS.Timeout>();

  /** Runs `callback` after `ms`; the returned function cancels it if it has not run yet. */
  set(callback: () => void, ms: number): () => void {
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      callback();
    }, ms);
    this.#pending.add(timer);
    return () => {
      clearTimeout(timer);
      this.#pending.delete(timer);
    };
  }

  clear(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}
