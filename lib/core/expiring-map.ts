/**
 * A small in-memory map whose entries leave by themselves after their TTL, with unref'd
 * timers so that it never keeps a process alive.
 */

/** An in-memory map whose entries leave by themselves after their TTL. */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; timer: NodeJS.Timeout }>();

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key`, if present and not expired. */
  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Sets `key` to `value` for `ttl` ms. */
  set(key: string, value: V, ttl: number): void {
    this.delete(key);
    const timer = setTimeout(() => {
      if (this.#entries.get(key)?.timer === timer) this.#entries.delete(key);
    }, ttl);
    timer.unref();
    this.#entries.set(key, { value, timer });
  }

  /** Changes the value, keeping the entry's expiry. */
  update(key: string, value: V): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.value = value;
  }

  /** Removes `key`. */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.#entries.delete(key);
  }
}
