/**
 * `--dump FILE`: everything the run saw, as JSON, to look into a failure after the fact:
 * the emulator's grant events, the strategies' events, the sessions and requests of the
 * driver (the session of a request as `user#generation`), and the faults played.
 */
import { writeFileSync } from 'node:fs';
import type { GrantEvent } from 'passport-argus/emulator';
import type { FaultLog } from './fault-runner.ts';
import type { SessionEventMessage } from './instance-messages.ts';
import type { Ledger } from './ledger.ts';

/** Writes the run's records to `file`. */
export function dumpRun(
  file: string,
  run: {
    ledger: Ledger;
    grantEvents: readonly GrantEvent[];
    appEvents: readonly SessionEventMessage[];
    faults: FaultLog;
  },
): void {
  const { ledger, faults } = run;
  const data = {
    grantEvents: run.grantEvents,
    appEvents: run.appEvents,
    sessions: ledger.sessions.map(({ cookie: _cookie, ...session }) => session),
    requests: ledger.requests.map(({ session, ...request }) => ({
      ...request,
      session: `${session.user}#${session.generation}`,
    })),
    faults: { ...faults, played: Object.fromEntries(faults.played) },
  };
  writeFileSync(file, `${JSON.stringify(data, null, 1)}\n`);
}
