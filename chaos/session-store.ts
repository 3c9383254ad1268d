/**
 * The instances' session store: connect-redis, with its errors marked as an outage. When
 * Redis is down or restarting the app answers 503 (try again), as it would for any
 * dependency that is briefly away; a 500 then means a bug, which the run counts.
 */
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';

// connect-redis's own callback type: the data is a session, a list, a count…
// biome-ignore lint/suspicious/noExplicitAny: as connect-redis declares it
type Callback = (error?: unknown, data?: any) => unknown;

/** An error of the session store, answered as 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly status = 503;
  readonly code = 'store_unavailable';

  constructor(cause: unknown) {
    super('The session store is unavailable', { cause });
  }
}

function marked(cb: Callback | undefined): Callback | undefined {
  if (cb === undefined) return undefined;
  return (error, data) => cb(error ? new StoreUnavailableError(error) : error, data);
}

/** connect-redis's RedisStore whose callbacks get {@link StoreUnavailableError}s. */
export class OutageAwareRedisStore extends RedisStore {
  override get(sid: string, cb?: Callback): Promise<unknown> {
    return super.get(sid, marked(cb));
  }

  override set(sid: string, sess: SessionData, cb?: Callback): Promise<unknown> {
    return super.set(sid, sess, marked(cb));
  }

  override touch(sid: string, sess: SessionData, cb?: Callback): Promise<unknown> {
    return super.touch(sid, sess, marked(cb));
  }

  override destroy(sid: string, cb?: Callback): Promise<unknown> {
    return super.destroy(sid, marked(cb));
  }
}

/**
 * A planted fault (`--plant cached-store`): each instance keeps the sessions it read for
 * 10 s and serves them from memory, forgetting one only when it deletes it itself. A
 * session logged out on one instance stays logged in on the others for a while.
 */
export class CachingRedisStore extends OutageAwareRedisStore {
  readonly #cache = new Map<string, { at: number; record: SessionData }>();

  override async get(sid: string, cb?: Callback): Promise<unknown> {
    const hit = this.#cache.get(sid);
    if (hit !== undefined && Date.now() - hit.at < 10_000) {
      const record = structuredClone(hit.record);
      cb?.(null, record);
      return record;
    }
    return super.get(sid, (error, record) => {
      if (!error && record)
        this.#cache.set(sid, { at: Date.now(), record: structuredClone(record) });
      cb?.(error, record);
    });
  }

  override set(sid: string, sess: SessionData, cb?: Callback): Promise<unknown> {
    this.#cache.set(sid, { at: Date.now(), record: structuredClone(sess) });
    return super.set(sid, sess, cb);
  }

  override destroy(sid: string, cb?: Callback): Promise<unknown> {
    this.#cache.delete(sid);
    return super.destroy(sid, cb);
  }
}
