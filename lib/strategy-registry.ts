/**
 * Finds the ArgusStrategy that `requireArgus()` and `argusLogout()` work with, so that the
 * common case needs no argument: the strategy registers itself by name when constructed.
 */
import { ArgusError, ArgusErrorCode } from './core/errors.ts';
import type { RefreshEngine } from './core/refresh-engine.ts';

/** What the middleware needs of a strategy. */
export interface EngineOwner {
  readonly name: string;
  readonly engine: RefreshEngine;
}

// One registry per process, not per module copy: `passport-argus` and
// `passport-argus/koa` are separate bundles, and the strategy is made with the first.
const REGISTRY = Symbol.for('passport-argus.strategies');
const byName: Map<string, EngineOwner> = Reflect.get(globalThis, REGISTRY) ?? new Map();
Reflect.set(globalThis, REGISTRY, byName);

/** Records `strategy` as the one answering to its name (the newest wins). */
export function registerStrategy(strategy: EngineOwner): void {
  byName.set(strategy.name, strategy);
}

function isOwner(value: unknown): value is EngineOwner {
  return typeof value === 'object' && value !== null && 'engine' in value && 'name' in value;
}

/**
 * Returns a resolver for the `strategy` option: an ArgusStrategy instance, a name, or
 * nothing (`'argus'`). Names are looked up when first needed, so the middleware can be
 * created before `passport.use(new ArgusStrategy(...))` runs.
 */
export function strategyResolver(option: unknown, fn: string): () => EngineOwner {
  if (option !== undefined && !isOwner(option) && typeof option !== 'string') {
    throw new TypeError(`${fn} option "strategy" must be an ArgusStrategy or a strategy name`);
  }
  if (isOwner(option)) return () => option;
  const name = option ?? 'argus';
  let found: EngineOwner | undefined;
  return () => {
    found ??= byName.get(name);
    if (found === undefined) {
      throw new ArgusError(
        ArgusErrorCode.MISCONFIGURED,
        `${fn}() found no ArgusStrategy named "${name}": create one with new ArgusStrategy({...}) first, or pass { strategy }`,
      );
    }
    return found;
  };
}
