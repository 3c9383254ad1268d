/**
 * ExpiringMap: entries leave after their TTL, counted by the monotonic clock that timers
 * use, whether or not anything reads them again; one timer per map, not one per entry.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiringMap } from '../lib/core/expiring-map.ts';

describe('ExpiringMap', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns an entry until its TTL has passed, and nothing after', () => {
    const map = new ExpiringMap<string>();
    map.set('a', 'one', 1000);
    vi.advanceTimersByTime(999);
    expect(map.get('a')).toBe('one');
    expect(map.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('keeps the expiry on update, and starts it again on set', () => {
    const map = new ExpiringMap<string>();
    map.set('a', 'one', 1000);
    map.set('b', 'one', 1000);
    vi.advanceTimersByTime(600);
    map.update('a', 'two');
    map.set('b', 'two', 1000);
    expect(map.get('a')).toBe('two');
    vi.advanceTimersByTime(500);
    expect(map.get('a')).toBeUndefined();
    expect(map.get('b')).toBe('two');
    map.update('a', 'three');
    expect(map.get('a')).toBeUndefined();
  });

  it('drops expired entries without being read, with one timer for all of them', () => {
    const map = new ExpiringMap<number>();
    for (let i = 0; i < 100; i++) map.set(`k${i}`, i, 1000 + i);
    expect(vi.getTimerCount()).toBe(1);
    map.set('short', 0, 10);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10);
    expect(map.size).toBe(100);
    // Sweeps come a second apart at the closest: the last entries leave by the second one.
    vi.advanceTimersByTime(2100);
    expect(vi.getTimerCount()).toBe(0);
    expect(map.size).toBe(0);
  });

  it('sweeps at most once a second, however closely the expiries follow each other', () => {
    const map = new ExpiringMap<number>();
    for (let i = 0; i < 1000; i++) map.set(`k${i}`, i, 100 + i);
    const sweep = vi.spyOn(globalThis, 'setTimeout');
    vi.advanceTimersByTime(1200);
    // The sweep at 100 ms arms the next a second later, which finds the rest expired: one
    // timer armed after the first, not one per expiry.
    expect(sweep).toHaveBeenCalledTimes(1);
    expect(map.size).toBe(0);
    sweep.mockRestore();
  });

  it('forgets a deleted entry, and a wall-clock jump expires nothing', () => {
    const map = new ExpiringMap<string>();
    map.set('a', 'one', 1000);
    map.set('b', 'one', 1000);
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    vi.setSystemTime(Date.now() + 3_600_000);
    expect(map.get('b')).toBe('one');
  });
});
