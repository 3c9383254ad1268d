/** Whether a session's token set lets a request on with nothing to do: the guard's hot path. */
import type { GuardSettings } from './guard-settings.ts';
import { isCheckDue } from './session-check.ts';
import type { SessionRecord } from './session-record.ts';
import type { TokenTimes } from './token-vault.ts';

/**
 * True when a token set needs nothing before the request goes on: outside the refresh
 * window, inside the refresh timeout and, with `sessionCheckInterval`, with no session
 * check due (read from `session`, the record holding the set). The guard's hot path: no
 * allocation, and one comparison for each option that is off.
 */
export function isFresh(
  tokens: TokenTimes,
  now: number,
  settings: GuardSettings,
  session?: SessionRecord,
): boolean {
  const { refreshTimeout, sessionCheckInterval } = settings;
  if (refreshTimeout !== undefined && now - tokens.obtainedAt >= refreshTimeout) return false;
  if (
    sessionCheckInterval !== undefined &&
    isCheckDue(session, tokens, now, sessionCheckInterval)
  ) {
    return false;
  }
  return tokens.expiresAt - now > settings.refreshWindow;
}
