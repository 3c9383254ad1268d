/**
 * `req.argus` built on its first read. A fresh token is the hot path of every protected
 * request, and many handlers never read `req.argus`: there, `requireArgus()` only leaves
 * its binding (the strategy's engine and its settings, one object per guard) in
 * `res.locals`, and an accessor on Express's request prototype builds the context from it
 * when `req.argus` is read, then keeps it on the request.
 *
 * The binding goes into `res.locals` rather than onto the request because the CPU profiles
 * of the guard benchmark put the largest part of the guard's own cost in adding a property
 * to Express's request (some forty properties, so a new one often reallocates their
 * store), and none measurable in adding one to `res.locals` (a small object Express makes
 * for each request, for just such data). The key is a symbol, which templates (whose
 * locals are copied by string key) and JSON never see.
 */
import { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import type { Request, Response } from 'express';
import type { GuardSettings } from '../core/guard-settings.ts';
import type { RefreshEngine } from '../core/refresh-engine.ts';
import type { TokenVault } from '../core/token-vault.ts';
import { ExpressArgusContext } from './context.ts';
import { uncachedRead } from './uncached-read.ts';

/**
 * What a request's context needs besides the request: one per guard, shared by every
 * request it lets through.
 */
export class ContextBinding {
  /** The engine of the guard's strategy. */
  readonly engine: RefreshEngine;
  /** The guard's validated settings. */
  readonly settings: GuardSettings;
  /** The engine's vault, read once: the guard asks it about every request's token set. */
  readonly vault: TokenVault;

  constructor(engine: RefreshEngine, settings: GuardSettings) {
    this.engine = engine;
    this.settings = settings;
    this.vault = engine.vault;
  }

  /** `res.locals` logged whole shows this word, not the engine behind it. */
  [inspect.custom](): string {
    return 'requireArgus';
  }
}

// Symbol.for: a second copy of the package (its ESM and its CommonJS build in one app)
// reads the bindings of the first through its accessor, and the reverse.
const BINDING = Symbol.for('passport-argus.binding');

type Locals = { [BINDING]?: ContextBinding };

/** Request prototypes seen, and whether `req.argus` is an accessor on their chain. */
const prototypes = new WeakMap<object, boolean>();
let lastPrototype: object | null = null;
let lastLazy = false;

/**
 * Express's base request prototype on the chain of `proto`: the one right above
 * `IncomingMessage.prototype`, from which each app's `app.request` (and a mounted app's)
 * inherits. `undefined` when the request is not Express's (a plain `node:http` one).
 */
function expressRequestPrototype(proto: object | null): object | undefined {
  let current = proto;
  while (current !== null) {
    const parent: object | null = Object.getPrototypeOf(current);
    if (parent === IncomingMessage.prototype) return current;
    current = parent;
  }
  return undefined;
}

function readArgus(this: Request): ExpressArgusContext | undefined {
  const res = this.res;
  const binding = (res?.locals as Locals | undefined)?.[BINDING];
  if (res === undefined || binding === undefined) return undefined;
  const context = new ExpressArgusContext(binding.engine, binding.settings, this, res);
  // Kept on the request: later reads get the same context.
  writeArgus.call(this, context);
  return context;
}

function writeArgus(this: Request, value: unknown): void {
  Object.defineProperty(this, 'argus', {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** Whether `req.argus` of requests like `req` can be built on first read. */
function isLazy(req: Request, res: Response): boolean {
  const proto: object | null = Object.getPrototypeOf(req);
  if (proto === lastPrototype) return lastLazy;
  if (proto === null) return false;
  let lazy = prototypes.get(proto);
  if (lazy === undefined) {
    const base = expressRequestPrototype(proto);
    // The context reaches the response through `req.res`, which Express sets.
    lazy = base !== undefined && req.res === res;
    if (lazy && base !== undefined && !Object.hasOwn(base, 'argus')) {
      Object.defineProperty(base, 'argus', {
        get: readArgus,
        set: writeArgus,
        enumerable: false,
        configurable: true,
      });
    }
    prototypes.set(proto, lazy);
  }
  lastPrototype = proto;
  lastLazy = lazy;
  return lazy;
}

/**
 * Makes `req.argus` the Argus session of a request that `binding`'s guard lets through:
 * built when first read where the request is Express's, at once elsewhere.
 */
export function provideArgus(req: Request, res: Response, binding: ContextBinding): void {
  const locals = uncachedRead(res, 'locals') as Locals | undefined;
  if (locals !== undefined && isLazy(req, res)) {
    locals[BINDING] = binding;
    return;
  }
  req.argus = new ExpressArgusContext(binding.engine, binding.settings, req, res);
}
