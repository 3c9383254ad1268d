/**
 * The options of the refresh engine: the coordinator, the bounds of its calls, and the
 * breaker in front of Argus.
 */
import type { BreakerSettings, SlowTimer } from './breaker.ts';
import type { LocalRefreshCoordinator, RefreshCoordinator } from './coordinator.ts';
import type { TokenVault } from './token-vault.ts';

/** Options of the `RefreshEngine`. */
export interface RefreshEngineOptions {
  /** Coordinates instances. Default: a {@link LocalRefreshCoordinator}. */
  coordinator?: RefreshCoordinator | undefined;
  /** The Argus call timeout, in ms: bounds every coordination call and every wait. */
  timeout: number;
  /** How long a started login stays valid, in ms: how long a claimed state stays claimed. Default 10 minutes. */
  loginTimeout?: number | undefined;
  /**
   * Seals and opens the token sets this engine's sessions store. Default: one without keys
   * (sets are stored in clear).
   *
   * @internal
   */
  vault?: TokenVault | undefined;
  /** The Argus breaker's settings, or `false` for none. Default `{ failures: 2, probeInterval: 5000, slowCall: 3000 }`. */
  breaker?: BreakerSettings | false | undefined;
  /**
   * Starts the clock of each Argus call's `slowCall` instead of `setTimeout` (see
   * {@link SlowTimer}): a test makes "the call became slow" a step it schedules.
   *
   * @internal
   */
  slowTimer?: SlowTimer | undefined;
}
