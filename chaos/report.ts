/**
 * Prints the end of a run: what happened (requests, refreshes, logouts, faults), then the
 * invariant counts, each of which must be 0.
 */
import type { GrantEvent } from 'passport-argus/emulator';
import type { FaultLog } from './fault-runner.ts';
import { BUSY_LAG } from './event-loop.ts';
import type { SessionEventMessage } from './instance-messages.ts';
import type { Crash } from './instances.ts';
import type { Ledger } from './ledger.ts';
import type { ChaosOptions } from './options.ts';
import type { Verdict } from './verdict.ts';

/** Everything the report shows. */
export interface ReportInput {
  options: ChaosOptions;
  /** Wall time of the whole run, setup and teardown included, ms. */
  elapsed: number;
  ledger: Ledger;
  events: readonly GrantEvent[];
  faults: FaultLog;
  appErrors: ReadonlyMap<string, number>;
  appEvents: readonly SessionEventMessage[];
  crashes: readonly Crash[];
  /** The driver's event-loop lag during the load, ms. */
  lag: { p99: number; max: number };
  verdict: Verdict;
}

/** An answer slower than this (ms) is reported as slow. */
const SLOW_ANSWER = 5000;

const list = (entries: Iterable<[string, number]>) =>
  [...entries]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([key, count]) => `${key}: ${count}`)
    .join(', ') || 'none';

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

/** True when every invariant held (and the counts can be trusted). */
export function passed(verdict: Verdict): boolean {
  return (
    verdict.wrongLogouts +
      verdict.servedAfterRejection +
      verdict.duplicateRefreshes +
      verdict.serverErrors +
      verdict.crashes ===
      0 && !verdict.eventsTruncated
  );
}

/** Prints the report. */
export function printReport(input: ReportInput): void {
  const { options, ledger, events, faults, verdict } = input;
  const requests = ledger.requests;
  const events_ = countBy(events, (e) => e.type);
  const sessions = ledger.sessions;
  const userLogouts = sessions.filter((s) => s.end === 'user').length;
  const outageMs = faults.redisOutages.reduce((sum, span) => sum + span.to - span.from, 0);
  const kills = faults.played.get('instance-kill') ?? 0;
  // A stalled dependency shows as slow answers rather than failed ones.
  const latencies = requests
    .filter((r) => typeof r.outcome === 'number')
    .map((r) => r.end - r.start);
  const slowest = latencies.reduce((max, ms) => Math.max(max, ms), 0);
  const slow = latencies.filter((ms) => ms > SLOW_ANSWER).length;
  const lines = [
    '',
    `chaos run: seed ${options.seed}, ${options.seconds} s of load, ${options.instances} instances, ` +
      `${options.users} users, plant ${options.plant ?? 'none'}, ${(input.elapsed / 1000).toFixed(1)} s in all`,
    `  requests     ${requests.length} (${list(countBy(requests, (r) => String(r.outcome)))})`,
    `  by route     ${list(countBy(requests, (r) => (r.probe ? 'ended-session cookie' : r.route)))}`,
    `  latency      slowest answer ${(slowest / 1000).toFixed(1)} s; ${slow} answers took over ${SLOW_ANSWER / 1000} s`,
    `  login steps  ${list(ledger.loginOutcomes)}; ${ledger.failedLogins} login journeys failed`,
    `  sessions     ${sessions.length} logged in; grants issued ${events_.get('issued') ?? 0}, ` +
      `refreshed ${events_.get('refreshed') ?? 0}, refused ${events_.get('rejected') ?? 0}, ` +
      `ended ${events_.get('ended') ?? 0}`,
    `  logouts      by the user: ${userLogouts}; by the app: ${list(verdict.appLogouts)}`,
    `  faults       ${list(faults.played)}; ${faults.skipped} skipped`,
    `               instance kills with a refresh in flight at Argus: ${faults.killsMidRefresh} of ${kills}; ` +
      `Redis unavailable ${(outageMs / 1000).toFixed(1)} s`,
    `  app events   ${list(
      countBy(input.appEvents, (e) =>
        e.detail === undefined ? e.event : `${e.event} ${e.detail}`,
      ),
    )}`,
    `  app errors   ${list(input.appErrors)}`,
  ];
  lines.push(
    `  driver       event-loop lag p99 ${input.lag.p99.toFixed(0)} ms, max ${input.lag.max.toFixed(0)} ms` +
      (input.lag.p99 > BUSY_LAG
        ? ': the machine was too busy, timeouts and lost answers may be its doing'
        : ''),
  );
  if (verdict.unmatchedSessions > 0) {
    lines.push(`  note         ${verdict.unmatchedSessions} sessions had no grant in the events`);
  }
  if (verdict.eventsTruncated) {
    lines.push(
      '  note         the emulator dropped old grant events: the run was too long to judge',
    );
  }
  lines.push(
    '',
    'invariants (each must be 0)',
    `  wrong logouts              ${verdict.wrongLogouts}`,
    `  served after a rejection   ${verdict.servedAfterRejection}` +
      (verdict.servedAfterDisruption > 0
        ? `  (${verdict.servedAfterDisruption} more after Redis was out or an instance killed, not counted)`
        : ''),
    `  duplicate refreshes        ${verdict.duplicateRefreshes}` +
      (verdict.afterLostAnswer > 0
        ? `  (${verdict.afterLostAnswer} more after an answer lost to a timeout, not counted)`
        : ''),
    `  5xx other than 503         ${verdict.serverErrors}`,
    `  crashes                    ${verdict.crashes}`,
  );
  for (const crash of input.crashes) lines.push(`    app ${crash.instance}: ${crash.what}`);
  for (const example of verdict.examples) lines.push(`    ${example}`);
  lines.push('', passed(verdict) ? 'PASS' : `FAIL (repeat with --seed ${options.seed})`);
  console.log(lines.join('\n'));
}
