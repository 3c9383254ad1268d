/**
 * What the driver saw: every session it logged in and every request it sent, with times
 * on the same clock as the emulator's grant events (the emulator runs in this process and
 * its clock is not moved, so both are `Date.now()`).
 */

/** How a request ended: an HTTP status, or no answer. */
export type Outcome = number | 'timeout' | 'network';

/** Why a session of the driver ended. */
export type SessionEnd =
  /** The driver logged out through argusLogout(). */
  | 'user'
  /** The app answered 401 on a protected route: it ended the session. */
  | 'app';

/** One logged-in session: user `user`'s login number `generation`. */
export interface SessionRecord {
  user: string;
  generation: number;
  /** When the login started (the first request of its redirect chain). */
  loginStart: number;
  /** When it landed logged in. */
  loginEnd: number;
  /** When the driver learnt it had ended. */
  endedAt?: number;
  end?: SessionEnd;
  /** The app's `error` in the answer that ended it. */
  endError?: string;
  /** When the app answered the driver's logout with success. */
  loggedOutAt?: number;
  /** The session cookie it had, to try again after the session ended. */
  cookie?: string;
}

/** One request to a protected route or the logout route. */
export interface RequestRecord {
  session: SessionRecord;
  instance: number;
  route: string;
  start: number;
  end: number;
  outcome: Outcome;
  /** The `error` field of a JSON error answer. */
  error?: string;
  /** Sent with the session's cookie after the session ended, as a stale tab would. */
  probe?: boolean;
}

/** The driver's records of one run. */
export class Ledger {
  readonly sessions: SessionRecord[] = [];
  readonly requests: RequestRecord[] = [];
  /** Outcomes of the login journeys' requests, by status. */
  readonly loginOutcomes = new Map<string, number>();
  /** Login journeys that did not end logged in. */
  failedLogins = 0;

  /** Records a session once its login landed. */
  addSession(record: SessionRecord): void {
    this.sessions.push(record);
  }

  /** Records a request once it was answered (or not). */
  addRequest(record: RequestRecord): void {
    this.requests.push(record);
  }

  /** Counts one answer of an app instance during a login journey. */
  addLoginOutcome(outcome: Outcome): void {
    const key = String(outcome);
    this.loginOutcomes.set(key, (this.loginOutcomes.get(key) ?? 0) + 1);
  }
}
