/**
 * The invariants of a run, counted from the driver's ledger and the emulator's grant
 * events (both on the same clock). Each count must be 0.
 *
 * - wrong logouts: the app ended a session (401 on a protected route) although Argus had
 *   neither rejected its grant nor ended it before that answer;
 * - served after a rejection: a protected request answered 200 that started more than
 *   REJECTION_SLACK after the app must have known the session was over: Argus refused a
 *   refresh of its grant (the app had that answer), or the app answered the user's logout
 *   with success. A grant ended by an Argus logout alone does not count until a refresh is
 *   refused: the app learns of it no sooner. The driver stops using a session once it
 *   ends, but then tries its old cookie once more on a random instance, as a stale tab
 *   would. A request whose slack overlaps a Redis outage, or an instance kill before any
 *   instance logged the user out, is left out (the app could not write the logout
 *   anywhere, or the instance that knew died), and reported apart;
 * - duplicate refreshes: a spent refresh token presented again (the emulator's 'reused'),
 *   except when the refresh that spent it timed out at the app (see lostAnswer);
 * - 5xx other than 503: from any answer of an app instance;
 * - crashes: an instance that exited without the run killing it, or printed a crash line.
 */
import type { GrantEvent } from 'passport-argus/emulator';
import type { FaultLog, Span } from './fault-runner.ts';
import type { SessionEventMessage } from './instance-messages.ts';
import type { Ledger, RequestRecord, SessionRecord } from './ledger.ts';
import { REJECTION_SLACK, STRATEGY_TIMEOUT } from './settings.ts';

/** The grant a session held, as the emulator logged it. */
interface GrantHistory {
  /** The first refused refresh (a 'rejected' or 'reused' event). */
  refusedAt: number | undefined;
  /** When it ended, and why. */
  endedAt: number | undefined;
  endReason: string | undefined;
  reused: number;
}

/** Why the app ended a session, once matched with the grant events. */
export type AppLogoutCause = 'argus logout' | 'reuse detected' | 'refresh rejected' | 'wrong';

/** The verdict of a run. */
export interface Verdict {
  wrongLogouts: number;
  servedAfterRejection: number;
  duplicateRefreshes: number;
  /** Duplicates after a refresh answer lost to a timeout (not counted). */
  afterLostAnswer: number;
  serverErrors: number;
  crashes: number;
  /** 200s after a rejection whose slack overlapped a Redis outage or a kill (not counted). */
  servedAfterDisruption: number;
  /** Sessions whose grant could not be found among the events. */
  unmatchedSessions: number;
  /** The emulator dropped old events: the counts above cannot be trusted. */
  eventsTruncated: boolean;
  /** Sessions the app ended, by cause. */
  appLogouts: Map<AppLogoutCause, number>;
  /** A few examples of each failed invariant, for the report. */
  examples: string[];
}

/**
 * How long after Argus answered a refresh the app may report it done (the report comes
 * after the new tokens are stored, which a slow Redis delays), in ms.
 */
const RECEIVED_WITHIN = 5000;

/** How close in time (ms) another event must be to be named beside a duplicate refresh. */
const NEARBY = 3000;

const overlaps = (spans: readonly Span[], from: number, to: number) =>
  spans.some((span) => span.from <= to && span.to >= from);

function histories(events: readonly GrantEvent[]): Map<string, GrantHistory> {
  const out = new Map<string, GrantHistory>();
  for (const event of events) {
    if (event.grantId === '') continue;
    let history = out.get(event.grantId);
    if (history === undefined) {
      history = { refusedAt: undefined, endedAt: undefined, endReason: undefined, reused: 0 };
      out.set(event.grantId, history);
    }
    if (event.type === 'reused') history.reused++;
    if ((event.type === 'rejected' || event.type === 'reused') && history.refusedAt === undefined) {
      history.refusedAt = event.at;
    }
    if (event.type === 'ended' && history.endedAt === undefined) {
      history.endedAt = event.at;
      history.endReason = event.reason;
    }
  }
  return out;
}

/** The grant a session got: the one issued to its user while its login ran. */
function grantOf(
  session: SessionRecord,
  issued: ReadonlyMap<string, GrantEvent[]>,
): string | undefined {
  const candidates = (issued.get(session.user) ?? []).filter(
    (e) => e.at >= session.loginStart && e.at <= session.loginEnd,
  );
  return candidates.at(-1)?.grantId;
}

/**
 * Whether the token of a duplicate was spent by a refresh whose answer the app never had:
 * the app reported a timeout of that user's refresh close to when Argus answered it (after
 * it: the answer came too late; before it: Argus read the request only once the app had
 * given up, which only a starved machine does), and no instance reported that refresh
 * done. No client can know such a token is spent:
 * the run reports these apart and does not count them. Returns the gap in ms.
 */
function lostAnswer(
  event: GrantEvent,
  events: readonly GrantEvent[],
  appEvents: readonly SessionEventMessage[],
): number | undefined {
  const previous = events.findLast(
    (e) => e.grantId === event.grantId && e.type === 'refreshed' && e.at <= event.at,
  );
  if (previous === undefined) return undefined;
  const timeout = appEvents.find(
    (e) =>
      e.event === 'refresh-failed' &&
      e.detail === 'ARGUS_TIMEOUT' &&
      e.user === event.userName &&
      Math.abs(e.at - previous.at) <= STRATEGY_TIMEOUT + 1000,
  );
  // An instance that reported that refresh done had the answer: it was not lost.
  const received = appEvents.some(
    (e) =>
      e.event === 'refresh' &&
      e.user === event.userName &&
      e.at >= previous.at &&
      e.at <= previous.at + RECEIVED_WITHIN,
  );
  return timeout === undefined || received ? undefined : timeout.at - previous.at;
}

/** What else happened around a duplicate refresh, to point at its cause. */
function circumstances(
  event: GrantEvent,
  events: readonly GrantEvent[],
  input: { ledger: Ledger; faults: FaultLog; appEvents: readonly SessionEventMessage[] },
): string {
  const notes: string[] = [];
  const lost = lostAnswer(event, events, input.appEvents);
  if (lost !== undefined) {
    notes.push(
      `not counted: the app timed out on the refresh before, ${lost} ms from Argus's answer`,
    );
  }
  const outages = input.faults.redisOutages;
  const previous = events.findLast(
    (e) => e.grantId === event.grantId && e.type === 'refreshed' && e.at <= event.at,
  );
  if (previous !== undefined && outages.some((s) => s.from <= previous.at && previous.at <= s.to)) {
    notes.push(
      `the refresh before, ${event.at - previous.at} ms earlier, was answered while Redis was out`,
    );
  } else if (outages.some((s) => s.from - NEARBY <= event.at && s.to >= event.at)) {
    notes.push('Redis out just before');
  }
  if (input.faults.kills.some((k) => k.user === event.userName && event.at >= k.from - NEARBY)) {
    notes.push("after an instance was killed in the user's refresh");
  }
  const logout = input.ledger.sessions.find(
    (s) =>
      s.user === event.userName &&
      s.end === 'user' &&
      Math.abs(event.at - (s.endedAt ?? 0)) <= NEARBY,
  );
  if (logout !== undefined) notes.push(`${event.at - (logout.endedAt ?? 0)} ms after a logout`);
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

/**
 * When the app must have known that a session was over: Argus refused a refresh of its
 * grant (the answer went to the app), or the app answered the user's logout with success.
 */
function knownEnded(session: SessionRecord, grant: GrantHistory | undefined): number | undefined {
  const times = [grant?.refusedAt, session.loggedOutAt].filter((t) => t !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}

function describeRequest(r: RequestRecord): string {
  const t = new Date(r.start).toISOString().slice(11, 23);
  const route = r.probe ? `${r.route} (the ended session's cookie)` : r.route;
  return `${r.session.user}#${r.session.generation} ${route} on app ${r.instance} at ${t}`;
}

/** Counts the invariants of a run. */
export function judge(input: {
  ledger: Ledger;
  events: readonly GrantEvent[];
  eventLimit: number;
  runStart: number;
  faults: FaultLog;
  appEvents: readonly SessionEventMessage[];
  crashes: number;
}): Verdict {
  const { ledger, events } = input;
  const grants = histories(events);
  const issued = new Map<string, GrantEvent[]>();
  for (const event of events) {
    if (event.type !== 'issued') continue;
    issued.set(event.userName, [...(issued.get(event.userName) ?? []), event]);
  }
  const grantOfSession = new Map<SessionRecord, GrantHistory | undefined>();
  let unmatchedSessions = 0;
  for (const session of ledger.sessions) {
    const id = grantOf(session, issued);
    if (id === undefined) unmatchedSessions++;
    grantOfSession.set(session, id === undefined ? undefined : grants.get(id));
  }

  // A few examples of each kind of failure, not a flood of one.
  const examples: string[] = [];
  const shown = new Map<string, number>();
  const example = (line: string) => {
    const kind = line.slice(0, line.indexOf(':'));
    if ((shown.get(kind) ?? 0) >= 3) return;
    shown.set(kind, (shown.get(kind) ?? 0) + 1);
    examples.push(line);
  };

  const appLogouts = new Map<AppLogoutCause, number>();
  let wrongLogouts = 0;
  for (const session of ledger.sessions) {
    if (session.end !== 'app' || session.endedAt === undefined) continue;
    const grant = grantOfSession.get(session);
    const endedAt = session.endedAt;
    const before = (at: number | undefined) => at !== undefined && at <= endedAt;
    let cause: AppLogoutCause = 'wrong';
    if (grant !== undefined && grant.reused > 0 && before(grant.refusedAt))
      cause = 'reuse detected';
    else if (grant !== undefined && before(grant.endedAt)) cause = 'argus logout';
    else if (grant !== undefined && before(grant.refusedAt)) cause = 'refresh rejected';
    appLogouts.set(cause, (appLogouts.get(cause) ?? 0) + 1);
    if (cause === 'wrong') {
      wrongLogouts++;
      const t = new Date(endedAt).toISOString().slice(11, 23);
      example(
        `wrong logout: ${session.user}#${session.generation} (${session.endError ?? '401'}) at ${t}`,
      );
    }
  }

  let servedAfterRejection = 0;
  let servedAfterDisruption = 0;
  // A kill excuses only when no instance had logged the user out before it: else the app
  // had acted on the rejection, and the kill changes nothing.
  const disrupted = (user: string, known: number) =>
    overlaps(input.faults.redisOutages, known, known + REJECTION_SLACK) ||
    input.faults.kills.some(
      (kill) =>
        overlaps([kill], known, known + REJECTION_SLACK) &&
        !input.appEvents.some(
          (e) => e.event === 'logout' && e.user === user && e.at >= known && e.at <= kill.from,
        ),
    );
  for (const request of ledger.requests) {
    if (request.outcome !== 200 || !request.route.startsWith('/app/')) continue;
    const known = knownEnded(request.session, grantOfSession.get(request.session));
    if (known === undefined || request.start <= known + REJECTION_SLACK) continue;
    if (disrupted(request.session.user, known)) {
      servedAfterDisruption++;
      continue;
    }
    servedAfterRejection++;
    example(
      `served after a rejection: ${describeRequest(request)}, ${request.start - known} ms after it`,
    );
  }

  let duplicateRefreshes = 0;
  let afterLostAnswer = 0;
  for (const event of events) {
    if (event.type !== 'reused') continue;
    const lost = lostAnswer(event, events, input.appEvents) !== undefined;
    if (lost) afterLostAnswer++;
    else duplicateRefreshes++;
    const t = new Date(event.at).toISOString().slice(11, 23);
    const what = lost ? 'duplicate refresh after a lost answer' : 'duplicate refresh';
    example(`${what}: ${event.userName} at ${t}${circumstances(event, events, input)}`);
  }

  const isServerError = (outcome: RequestRecord['outcome'] | string) =>
    Number(outcome) >= 500 && Number(outcome) !== 503;
  let serverErrors = 0;
  for (const request of ledger.requests) {
    if (!isServerError(request.outcome)) continue;
    serverErrors++;
    example(`5xx: ${request.outcome} ${describeRequest(request)} (${request.error ?? 'no body'})`);
  }
  for (const [outcome, count] of ledger.loginOutcomes) {
    if (!isServerError(outcome)) continue;
    serverErrors += count;
    example(`5xx: ${outcome} ×${count} in login journeys`);
  }

  const first = events[0];
  return {
    wrongLogouts,
    servedAfterRejection,
    duplicateRefreshes,
    afterLostAnswer,
    serverErrors,
    crashes: input.crashes,
    servedAfterDisruption,
    unmatchedSessions,
    eventsTruncated:
      events.length >= input.eventLimit && first !== undefined && first.at > input.runStart,
    appLogouts,
    examples,
  };
}
