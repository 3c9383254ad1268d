/**
 * What one call's outcome says about Argus: the breaker counts only "down" (a timeout, a
 * network error, a 502/503/504); a rejection is Argus answering.
 */
import { ArgusErrorCode, isArgusError } from './errors.ts';

/** What one call's outcome says about Argus. */
export type Verdict =
  /** Argus answered (with success, a rejection or another 4xx). */
  | 'up'
  /** Argus is unavailable: timeout, network error, 5xx. */
  | 'down'
  /** Says nothing about Argus (an unreadable answer, or no call made). */
  | 'neutral';

/**
 * The verdict of a call that threw: a timeout, a network error or a 5xx say Argus is down;
 * a rejection or another HTTP error is Argus answering.
 */
export function verdictOf(error: unknown): Verdict {
  if (!isArgusError(error)) return 'neutral';
  switch (error.code) {
    case ArgusErrorCode.TIMEOUT:
    case ArgusErrorCode.NETWORK:
      return 'down';
    case ArgusErrorCode.HTTP:
      return (error.argusStatus ?? 500) >= 500 ? 'down' : 'up';
    case ArgusErrorCode.REJECTED:
    case ArgusErrorCode.CLIENT_REJECTED:
      return 'up';
    default:
      return 'neutral';
  }
}

/**
 * The verdict of an API answer. Only 502, 503 and 504 count as Argus being down: they come
 * from the gateway in front of it. A 500 is one endpoint's own failure (a bad request of
 * the app, say) and must not stop every session's refresh.
 */
export function verdictOfStatus(status: number): Verdict {
  return status === 502 || status === 503 || status === 504 ? 'down' : 'up';
}
