/**
 * Moves this process's clock forward, so that a token expires without waiting for it.
 * Only `Date.now` moves (the library and the emulator read the time through it; the
 * emulator clock is `Date.now()` plus its own offset), so app and emulator agree on the
 * time; timers, sockets and `performance.now` stay real.
 */
const realNow = Date.now;
let offset = 0;

/** Moves `Date.now()` forward by `ms`. */
export function advanceClock(ms: number): void {
  offset += ms;
  Date.now = () => realNow() + offset;
}

/** Puts the real `Date.now` back. */
export function restoreClock(): void {
  offset = 0;
  Date.now = realNow;
}
