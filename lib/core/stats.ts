/**
 * `strategy.stats()`: what a strategy's refresh engine holds in this process, as plain
 * numbers for a metrics gauge. Reading them costs a few property reads; nothing in them
 * names a session or a user.
 */
import { type RefreshCoordinator, LocalRefreshCoordinator } from './coordinator.ts';

/** The records an in-process {@link LocalRefreshCoordinator} holds. */
export interface LocalCoordinatorStats {
  /** Sessions whose recent refreshes it keeps (successor chains) for other requests. */
  successorChains: number;
  /** Logout markers it holds: sessions logged out within the marker's lifetime. */
  logoutMarkers: number;
  /** Login claims it holds: callbacks claimed within the login timeout. */
  loginClaims: number;
}

/** What `strategy.stats()` (or `strategy.engine.stats()`) reports. */
export interface RefreshEngineStats {
  /** Refreshes under way in this process now, one per token set at most. */
  refreshesInFlight: number;
  /**
   * Sessions whose latest Argus refresh answers this process keeps (about ten minutes
   * each): the copy that survives a failed session save or coordination write.
   */
  successorChains: number;
  /** Sessions this process logged out or found logged out, remembered so no write revives them. */
  logoutMarkers: number;
  /**
   * Coordination writes (a refresh's successor, a logout marker) that failed and are being
   * retried in the background. Above 0 for long means the coordination store is down.
   */
  pendingRetries: number;
  /**
   * The breaker of the session's own calls to Argus (refreshes, session checks, logout) in
   * this process: `'open'` while they are refused but for one probe per interval, else
   * `'closed'` (also when the breaker is switched off).
   */
  breaker: 'closed' | 'open';
  /**
   * The Argus API services (the first segment of an API path, such as `cases`) whose
   * breaker is open in this process: their API calls are refused but for one probe per
   * interval. Empty when none is.
   */
  openApiServices: string[];
  /** The in-process coordinator's records, when the strategy uses the default one. */
  localCoordinator?: LocalCoordinatorStats;
}

/** Builds the engine's stats; the in-process coordinator's records when it is the one in use. */
export function engineStats(
  refreshesInFlight: number,
  successorChains: number,
  logoutMarkers: number,
  pendingRetries: number,
  breaker: 'closed' | 'open',
  openApiServices: string[],
  coordinator: RefreshCoordinator,
): RefreshEngineStats {
  const stats: RefreshEngineStats = {
    refreshesInFlight,
    successorChains,
    logoutMarkers,
    pendingRetries,
    breaker,
    openApiServices,
  };
  if (coordinator instanceof LocalRefreshCoordinator) {
    stats.localCoordinator = {
      successorChains: coordinator.size,
      logoutMarkers: coordinator.markers,
      loginClaims: coordinator.claims,
    };
  }
  return stats;
}
