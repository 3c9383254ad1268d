/**
 * A koa-session store in this process's memory, for development and tests: koa-session
 * keeps its record in the cookie unless it is given a store, and passport-argus refuses
 * that (the token set must stay on the server). Production needs a shared store (such as
 * koa-redis): these sessions are lost at every restart and not shared between instances.
 */

/** The store {@link memorySessionStore} returns: koa-session's external store shape. */
export interface MemorySessionStore {
  /** The record of `key`, if there is one and it has not expired. */
  get(key: string): Promise<unknown>;
  /** Keeps `record` under `key` for `maxAge` ms (koa-session's `'session'`: a day). */
  set(key: string, record: unknown, maxAge?: number | 'session'): Promise<void>;
  /** Removes the record of `key`. */
  destroy(key: string): Promise<void>;
  /** Records held (expired ones included until they are next read). */
  readonly size: number;
}

const DAY = 86_400_000;

/**
 * A koa-session store in memory, for development: records are kept as JSON (as a real
 * store keeps them, so no request shares an object with another) and expire by `maxAge`.
 *
 * @example
 * ```ts
 * import session from 'koa-session';
 * import { memorySessionStore } from 'passport-argus/koa';
 * app.use(session({ store: memorySessionStore(), sameSite: 'lax' }, app));
 * ```
 */
export function memorySessionStore(): MemorySessionStore {
  const records = new Map<string, { json: string; expires: number }>();
  return {
    async get(key) {
      const entry = records.get(key);
      if (entry === undefined) return undefined;
      if (entry.expires <= Date.now()) {
        records.delete(key);
        return undefined;
      }
      return JSON.parse(entry.json);
    },
    async set(key, record, maxAge) {
      const lifetime = typeof maxAge === 'number' && maxAge > 0 ? maxAge : DAY;
      records.set(key, { json: JSON.stringify(record), expires: Date.now() + lifetime });
    },
    async destroy(key) {
      records.delete(key);
    },
    get size() {
      return records.size;
    },
  };
}
