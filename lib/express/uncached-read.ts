/**
 * Property reads of Express's requests and responses on the guard's hot path.
 *
 * Express 5 sets the prototype of each request and response (`Object.setPrototypeOf`), and
 * V8 then gives each of them a hidden class of its own as soon as a property is added to
 * it, which the router and the session middleware do on every request. A plain
 * `req.session` in a function that every request passes therefore finds a class it has
 * never seen: it misses V8's inline cache and its shared megamorphic cache, calls into the
 * runtime, and writes an entry to that shared cache that no later request can use.
 * `Reflect.get` looks the property up in place instead, with neither cache: about half the
 * time per read, in a loop over such objects.
 */

/**
 * `target[key]`, with the same meaning (getters, proxies and inherited properties
 * included), for objects whose hidden class is new on each call: an Express request or
 * response.
 */
export function uncachedRead<T extends object, K extends keyof T>(target: T, key: K): T[K] {
  return Reflect.get(target, key) as T[K];
}
