/**
 * A small in-memory map whose entries leave by themselves after their TTL, with one
 * unref'd timer per map so that it never keeps a process alive.
 */

/** Monotonic milliseconds, as timers count them: a wall-clock jump expires nothing. */
const now = (): number => performance.now();

/** The shortest time between two sweeps of one map, in ms. */
const SWEEP_GAP = 1000;

/**
 * An in-memory map whose entries leave by themselves after their TTL. An expired entry is
 * never returned; it is dropped when read, or by a sweep that one timer per map runs at
 * the earliest expiry. (A timer per entry cost each login's claim a timer of its own.)
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  #sweep: NodeJS.Timeout | undefined;
  /** When the armed sweep runs; `Infinity` when none is armed. */
  #sweepAt = Number.POSITIVE_INFINITY;

  /** Entries held, expired ones not counted. */
  get size(): number {
    this.#dropExpired(now());
    return this.#entries.size;
  }

  /** The value of `key`, if present and not expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Sets `key` to `value` for `ttl` ms. */
  set(key: string, value: V, ttl: number): void {
    const expiresAt = now() + ttl;
    // Deleted first, so the entry takes its place at the end, as a new one would.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    if (expiresAt < this.#sweepAt) this.#arm(expiresAt);
  }

  /** Changes the value, keeping the entry's expiry. */
  update(key: string, value: V): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.value = value;
  }

  /** Removes `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Arms the sweep for `at`, in place of a later one. */
  #arm(at: number): void {
    if (this.#sweep !== undefined) clearTimeout(this.#sweep);
    this.#sweepAt = at;
    this.#sweep = setTimeout(() => this.#sweepNow(), Math.max(0, at - now()));
    this.#sweep.unref();
  }

  /**
   * Drops what has expired, and arms the next sweep for what is left: a second later at
   * the soonest. Each sweep reads every entry, and entries set a millisecond apart expire a
   * millisecond apart; without the gap a busy map would be swept once per entry. An entry
   * swept late is never returned meanwhile (`get` and `size` check its expiry).
   */
  #sweepNow(): void {
    this.#sweep = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    const at = now();
    const next = this.#dropExpired(at);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(Math.max(next, at + SWEEP_GAP));
  }

  /** Drops the entries expired at `at`; returns the earliest expiry of the rest. */
  #dropExpired(at: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#entries) {
      if (at >= entry.expiresAt) this.#entries.delete(key);
      else if (entry.expiresAt < next) next = entry.expiresAt;
    }
    return next;
  }
}
