import { describe, expect, it } from 'vitest';
import { ArgusStrategy, type ArgusStrategyOptions, LocalRefreshCoordinator } from 'passport-argus';

const base: ArgusStrategyOptions = {
  clientID: 'c0ffee00-0000-4000-8000-000000000000',
  clientSecret: 'secret',
  callbackURL: 'https://app.example/oauth/callback',
};

const make = (options: Record<string, unknown>) => () =>
  new ArgusStrategy({ ...base, ...options } as ArgusStrategyOptions);

describe('the breaker option', () => {
  it('defaults to two failures in a row, one probe per 5 s, and a call slow after 3 s', () => {
    expect(new ArgusStrategy(base).argusOptions.breaker).toEqual({
      failures: 2,
      probeInterval: 5000,
      slowCall: 3000,
    });
    expect(new ArgusStrategy(base).engine.breaker.slowCall).toBe(3000);
    expect(new ArgusStrategy(base).engine.breaker.state).toBe('closed');
  });

  it('takes either setting alone, and false to switch it off', () => {
    expect(make({ breaker: { failures: 3 } })().argusOptions.breaker).toEqual({
      failures: 3,
      probeInterval: 5000,
      slowCall: 3000,
    });
    expect(make({ breaker: { probeInterval: 1000 } })().argusOptions.breaker).toEqual({
      failures: 2,
      probeInterval: 1000,
      slowCall: 3000,
    });
    expect(make({ breaker: { slowCall: 500 } })().argusOptions.breaker).toEqual({
      failures: 2,
      probeInterval: 5000,
      slowCall: 500,
    });
    expect(make({ breaker: false })().argusOptions.breaker).toBe(false);
  });

  it('leaves slow calls to the timeout when slowCall is not below it', () => {
    expect(make({ timeout: 2000, breaker: { slowCall: 2000 } })().engine.breaker.slowCall).toBe(
      undefined,
    );
    expect(make({ timeout: 2000 })().engine.breaker.slowCall).toBe(undefined);
    expect(make({ timeout: 2001, breaker: { slowCall: 2000 } })().engine.breaker.slowCall).toBe(
      2000,
    );
  });

  it.each([
    [{ breaker: 'on' }, 'ArgusStrategy option "breaker" must be false or an object'],
    [{ breaker: null }, 'ArgusStrategy option "breaker" must be false or an object'],
    [{ breaker: [] }, 'ArgusStrategy option "breaker" must be false or an object'],
    [
      { breaker: { failures: 0 } },
      'ArgusStrategy option "breaker.failures" must be a positive integer',
    ],
    [
      { breaker: { failures: 2.5 } },
      'ArgusStrategy option "breaker.failures" must be a positive integer',
    ],
    [
      { breaker: { probeInterval: -1 } },
      'ArgusStrategy option "breaker.probeInterval" must be a positive number of milliseconds',
    ],
    [
      { breaker: { probeInterval: '5s' } },
      'ArgusStrategy option "breaker.probeInterval" must be a positive number of milliseconds',
    ],
    [
      { breaker: { slowCall: 0 } },
      'ArgusStrategy option "breaker.slowCall" must be a positive number of milliseconds',
    ],
    [
      { breaker: { slowCall: Number.NaN } },
      'ArgusStrategy option "breaker.slowCall" must be a positive number of milliseconds',
    ],
    [
      { breaker: { probeInterval: 2 ** 31 } },
      'ArgusStrategy option "breaker.probeInterval" must be a positive number of milliseconds',
    ],
  ])('refuses %j with a TypeError naming the option', (options, message) => {
    expect(make(options)).toThrow(TypeError);
    expect(make(options)).toThrow(message);
  });

  it('refuses a coordinator with only some of the breaker methods', () => {
    const half = Object.assign(new LocalRefreshCoordinator(), {
      breaker: async () => false,
    });
    expect(make({ coordinator: half })).toThrow(
      'ArgusStrategy option "coordinator" must have all of the breaker methods breaker, reportBreaker, claimProbe or none',
    );
  });

  it('accepts a coordinator without the breaker methods: each process keeps its own', () => {
    expect(make({ coordinator: new LocalRefreshCoordinator() })).not.toThrow();
  });
});
