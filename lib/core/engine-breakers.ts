/**
 * The breakers of one refresh engine: the authentication service's and one per API
 * service, all with the strategy's settings, shared through the coordinator when it can,
 * and reporting to the engine's events.
 */
import { AUTHENTICATION, ServiceBreakers } from './api-breakers.ts';
import { ArgusBreaker, type BreakerSettings, DEFAULT_BREAKER, type SlowTimer } from './breaker.ts';
import { BREAKER_METHODS, fingerprintOf, type RefreshCoordinator } from './coordinator.ts';
import type { ArgusEvents } from './events.ts';
import { log } from './log.ts';

/** What the breakers need from their engine. */
export interface EngineBreakerContext {
  settings: BreakerSettings | false | undefined;
  /** The Argus API's URL: with the service, it names a breaker's shared state. */
  apiURL: string;
  coordinator: RefreshCoordinator;
  timeout: number;
  slowTimer: SlowTimer | undefined;
  emit<K extends 'breaker-open' | 'breaker-close'>(event: K, ...args: ArgusEvents[K]): void;
  report(what: string, error: unknown): void;
  bound<T>(promise: Promise<T>): Promise<T>;
}

/** Makes an engine's breakers: the authentication one now, the others on first use. */
export function engineBreakers(context: EngineBreakerContext): ServiceBreakers {
  const { coordinator, apiURL } = context;
  const shared = BREAKER_METHODS.every((m) => typeof coordinator[m] === 'function')
    ? (coordinator as Required<Pick<RefreshCoordinator, (typeof BREAKER_METHODS)[number]>>)
    : undefined;
  const breakerOf = (service: string): ArgusBreaker =>
    new ArgusBreaker(context.settings ?? DEFAULT_BREAKER, {
      // One breaker per Argus API and service, whichever apps share the store (the
      // authentication breaker keeps the key the single breaker had).
      key: fingerprintOf(service === AUTHENTICATION ? apiURL : `${apiURL}#${service}`),
      shared,
      timeout: context.timeout,
      slowTimer: context.slowTimer,
      hooks: {
        opened: (event) => {
          log.refresh('breaker of %s open (%s)', service, event.source);
          context.emit('breaker-open', { ...event, service });
        },
        closed: (event) => {
          log.refresh('breaker of %s closed (%s)', service, event.source);
          context.emit('breaker-close', { ...event, service });
        },
        problem: (what, error) => context.report(what, error),
        bound: (promise) => context.bound(promise),
      },
    });
  return new ServiceBreakers(breakerOf(AUTHENTICATION), breakerOf);
}
