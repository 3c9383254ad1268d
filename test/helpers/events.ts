/** The events a strategy emits, recorded as they come, for tests that assert on them. */
import type { ArgusEvents, ArgusStrategy } from 'passport-argus';

/** Records every `name` event of `on.strategy`, in order. */
export function record<K extends keyof ArgusEvents>(
  on: { strategy: ArgusStrategy },
  name: K,
): ArgusEvents[K][0][] {
  const seen: ArgusEvents[K][0][] = [];
  on.strategy.events.on(name, ((event: ArgusEvents[K][0]) => seen.push(event)) as never);
  return seen;
}
