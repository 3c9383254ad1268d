/**
 * The Argus breaker's settings: the `breaker` option of `ArgusStrategy`, its defaults and
 * its validation.
 */

/** The `breaker` option of `ArgusStrategy`. Durations are in milliseconds. */
export interface BreakerOptions {
  /**
   * Unavailable answers in a row that open the breaker. Default `2`: a lone failed call
   * (a blip) is ridden through, a second in a row opens it. After the first failure calls
   * go one at a time, so this is also the number of calls a down Argus gets before the
   * breaker opens.
   */
  failures?: number;
  /** While open, one call (the probe) goes to Argus per this many ms. Default `5000`. */
  probeInterval?: number;
  /**
   * A call still unanswered after this many ms counts as unavailable, and the requests
   * waiting for a refresh are answered as if Argus were down (the call goes on in the
   * background). Default `3000`; no effect when not below the strategy's `timeout`.
   */
  slowCall?: number;
}

/** The validated breaker settings. */
export interface BreakerSettings {
  readonly failures: number;
  readonly probeInterval: number;
  readonly slowCall: number;
}

/**
 * Default settings: two unavailable answers in a row open it; one probe per 5 s; a call is
 * slow after 3 s. Two is the most that keeps a down Argus at about one call per probe
 * interval and instance (the outage benchmark's goal): every failure before the opening is
 * one more call. A lone failure still opens nothing, and an open breaker changes nothing for
 * a session whose token is valid; see README, Performance, for two and five measured.
 */
export const DEFAULT_BREAKER: BreakerSettings = Object.freeze({
  failures: 2,
  probeInterval: 5000,
  slowCall: 3000,
});

/** The longest delay `setTimeout` takes, in ms. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Validates the `breaker` option: `false` switches it off; an object may set `failures`
 * (a positive integer) and `probeInterval` (a positive number of ms). Throws a
 * `TypeError` naming the option.
 */
export function resolveBreaker(value: unknown): BreakerSettings | false {
  if (value === undefined || value === true) return DEFAULT_BREAKER;
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      'ArgusStrategy option "breaker" must be false or an object such as { failures: 2, probeInterval: 5000 }',
    );
  }
  const {
    failures = DEFAULT_BREAKER.failures,
    probeInterval = DEFAULT_BREAKER.probeInterval,
    slowCall = DEFAULT_BREAKER.slowCall,
  } = value as Record<string, unknown>;
  if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 1) {
    throw new TypeError('ArgusStrategy option "breaker.failures" must be a positive integer');
  }
  return Object.freeze({
    failures,
    probeInterval: milliseconds('probeInterval', probeInterval),
    slowCall: milliseconds('slowCall', slowCall),
  });
}

/** Validates a duration setting of the breaker. */
function milliseconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER) {
    throw new TypeError(
      `ArgusStrategy option "breaker.${name}" must be a positive number of milliseconds, at most ${MAX_TIMER}`,
    );
  }
  return value;
}
