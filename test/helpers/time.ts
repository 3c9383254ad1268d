import { vi } from 'vitest';

/**
 * Moves the time seen by the app (Date) and by the emulator (whose clock is Date plus
 * its own offset) together. Only Date is faked: sockets and timers stay real.
 */
export function useMovableTime(): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
}

export function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

export function restoreTime(): void {
  vi.useRealTimers();
}
