/**
 * Every write of a session record that holds a token set passes the engine's logout
 * check. A session middleware saves each request's copy of the record when the request
 * ends; a request that loaded the record before a logout and ends after it would
 * otherwise write the logged-out session back, and its cookie would work again.
 *
 * The gate wraps the session store's `set` once per store object, for both store styles
 * in use: express-session's `set(id, record, callback)` and koa-session's
 * `set(key, record, maxAge, options)` returning a promise. Records without a token set
 * (anonymous sessions) pass straight through.
 *
 * Being the one way a logged-in record reaches the store, the gate is also where its
 * token set is sealed when the strategy has `encryptionKeys`: sealed for the key the
 * store writes it under, which is the session id whichever framework (and whichever
 * session regeneration) chose it.
 */
import type { RefreshEngine } from './refresh-engine.ts';
import { readTokens, type SessionRecord, sealedForStore } from './session-record.ts';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** A session store as both middlewares use it. */
export interface GateableStore {
  set: Method;
  destroy?: Method;
}

const gated = new WeakMap<object, WeakSet<RefreshEngine>>();

/** True when `value` has a `set` method to gate. */
function isStore(value: unknown): value is GateableStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { set?: unknown }).set === 'function'
  );
}

/**
 * Puts `store`'s writes of logged-in records behind `engine`'s logout check. Idempotent
 * per store and engine; a value that is not a store is left alone.
 */
export function gateStore(store: unknown, engine: RefreshEngine): void {
  if (!isStore(store)) return;
  let engines = gated.get(store);
  if (engines === undefined) {
    engines = new WeakSet();
    gated.set(store, engines);
  }
  if (engines.has(engine)) return;
  engines.add(engine);
  const set = store.set;
  store.set = function gatedSet(this: unknown, ...args: unknown[]): unknown {
    const [key, record] = args;
    if (typeof key !== 'string' || readTokens(record as SessionRecord) === undefined) {
      return set.apply(this, args);
    }
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as Method) : undefined;
    const withCallback = callback !== undefined;
    // The store gets a sealed copy; this request's record stays as it is.
    args[1] = sealedForStore(record as SessionRecord, engine.vault, key);
    const loggedOut = callback === undefined ? undefined : engine.loggedOutNow(key);
    if (loggedOut !== undefined) {
      writeNow(engine, store, set, args, callback as Method, loggedOut);
      return undefined;
    }
    const done = engine.guardedWrite(
      key,
      () => callStore(set, store, args, withCallback),
      () => destroyRecordAs(store, key, withCallback),
    );
    if (callback === undefined) return done.then(() => undefined);
    done.then(
      () => callback.call(undefined),
      (error: unknown) => callback.call(undefined, error),
    );
    return undefined;
  };
}

/**
 * {@link RefreshEngine.guardedWrite} for a callback-style store (express-session's) and an
 * engine whose coordinator answers at once (`loggedOut`, before the write): the same
 * checks in the same order (logged out before the write: nothing written; logged out by
 * the time it landed: the record destroyed), with the store's own callback in place of a
 * promise and two awaits. `args` are the store's arguments without the callback.
 */
function writeNow(
  engine: RefreshEngine,
  store: GateableStore,
  set: Method,
  args: unknown[],
  callback: Method,
  loggedOut: boolean,
): void {
  if (loggedOut) {
    callback.call(undefined);
    return;
  }
  const key = args[0] as string;
  let heard = false;
  // Made where it is passed, then read back (see CONTRIBUTING.md, Code).
  args.push((error?: unknown) => {
    // A store that calls back and also returns a promise is heard once, as in callStore.
    if (heard) return;
    heard = true;
    if (error) callback.call(undefined, error);
    else if (engine.loggedOutNow(key) !== true) callback.call(undefined);
    else
      destroyRecordAs(store, key, true)
        .catch((again: unknown) => engine.report('removing a logged-out session', again))
        .then(() => callback.call(undefined));
  });
  const landed = args[args.length - 1] as (error?: unknown) => void;
  const result = set.apply(store, args) as Promise<unknown> | undefined;
  if (result !== undefined && typeof result.then === 'function') {
    result.then(() => landed(), landed);
  }
}

/**
 * Removes session `key`'s record from `store`, for both store styles (a callback, or a
 * returned promise); a value that is not a store with `destroy` is left alone.
 */
export function destroyRecord(store: unknown, key: string): Promise<void> {
  if (!isStore(store)) return Promise.resolve();
  return destroyRecordAs(store, key, true);
}

/** Removes session `key`'s record, calling `destroy` in the style its `set` was called. */
function destroyRecordAs(store: GateableStore, key: string, withCallback: boolean): Promise<void> {
  if (typeof store.destroy !== 'function') return Promise.resolve();
  return callStore(store.destroy, store, [key], withCallback);
}

/** Calls a store method the way its caller did: with a callback, or for its promise. */
function callStore(
  method: Method,
  self: unknown,
  args: unknown[],
  withCallback: boolean,
): Promise<void> {
  if (!withCallback) return Promise.resolve(method.apply(self, args)).then(() => undefined);
  return new Promise((resolve, reject) => {
    const result = method.apply(self, [
      ...args,
      (error?: unknown) => (error ? reject(error) : resolve()),
    ]);
    // A promise-based store that also ignores the callback still settles.
    if (result !== undefined && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(() => resolve(), reject);
    }
  });
}
