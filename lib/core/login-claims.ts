/**
 * One token exchange per `state`: a login's callback claims its state in the coordinator
 * (atomically, across every instance) before the exchange; copies of the same callback
 * that arrive meanwhile wait for the first copy's outcome instead of exchanging the
 * one-time code again, which Argus would punish by revoking the login.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoordinationCalls } from './coordination-calls.ts';
import { type ClaimOutcome, localAnswers, type RefreshCoordinator } from './coordinator.ts';
import { fingerprintOf } from './fingerprint.ts';

/** The outcome of `RefreshEngine.claimLogin()`. */
export type LoginClaim =
  /** This callback goes on; report how it ended with `settle`. */
  | {
      won: true;
      /** Records how this login ended, for the copies that lost the claim. */
      settle(outcome: 'success' | 'failure'): void;
    }
  /** Another copy of this callback holds the state; this is how it ended. */
  | { won: false; outcome: 'success' | 'failure' };

/** What {@link claimLogin} needs from the engine. */
export interface ClaimContext {
  coordinator: RefreshCoordinator;
  calls: CoordinationCalls;
  /** How long a claim stays, in ms: as long as a started login is valid. */
  ttl: number;
  /** How long a copy waits for the first copy's outcome, in ms. */
  wait: number;
  report(what: string, error: unknown): void;
}

/**
 * Claims the login of `state`; see {@link LoginClaim}. The claim itself is made before this
 * returns when the coordinator answers at once (the in-process one): a won claim is then
 * returned as it is, without a promise, a time bound or a turn of the event loop.
 */
export function claimLogin(state: string, context: ClaimContext): LoginClaim | Promise<LoginClaim> {
  const key = fingerprintOf(state);
  const local = localAnswers(context.coordinator);
  if (local === undefined) return claimShared(key, context);
  if (local.claimNow(key, context.ttl)) return { won: true, settle: settleOnce(key, context) };
  return lost(key, context);
}

/** {@link claimLogin} through a coordinator that answers with promises (a shared store). */
async function claimShared(key: string, context: ClaimContext): Promise<LoginClaim> {
  if (await context.calls.bounded(context.coordinator.claim(key, context.ttl))) {
    return { won: true, settle: settleOnce(key, context) };
  }
  return lost(key, context);
}

/** A claim another copy of the callback holds: its outcome, once known. */
async function lost(key: string, context: ClaimContext): Promise<LoginClaim> {
  return { won: false, outcome: await outcomeOf(key, context) };
}

/** The `settle` of a won claim: records the first outcome it is given, ignores the rest. */
function settleOnce(key: string, context: ClaimContext): (outcome: 'success' | 'failure') => void {
  let settled = false;
  // Returned where it is made (see CONTRIBUTING.md, Code).
  return (outcome) => {
    if (settled) return;
    settled = true;
    const local = localAnswers(context.coordinator);
    if (local !== undefined) {
      local.settleClaimNow(key, outcome);
      return;
    }
    context.calls
      .bounded(context.coordinator.settleClaim(key, outcome))
      .catch((error: unknown) => context.report('recording a login outcome', error));
  };
}

/** Waits for a claimed login to end: the exchange, profile and verify, each bounded. */
/**
 * How the login of `state` ended, for a callback that finds no login for it in its session:
 * a copy of a callback whose first copy has logged the user in and replaced the session
 * since. Waits for a login still under way; `undefined` when nobody claimed the state.
 */
export async function earlierOutcome(
  state: string,
  context: ClaimContext,
): Promise<'success' | 'failure' | undefined> {
  const key = fingerprintOf(state);
  let outcome: ClaimOutcome | undefined;
  try {
    outcome = await context.calls.bounded(context.coordinator.claimOutcome(key));
  } catch {
    // Unknown: the callback is answered as one whose login is not known here.
    return undefined;
  }
  if (outcome === undefined || outcome !== 'pending') return outcome;
  return outcomeOf(key, context);
}

async function outcomeOf(key: string, context: ClaimContext): Promise<'success' | 'failure'> {
  const deadline = performance.now() + context.wait;
  let pause = 10;
  for (;;) {
    let outcome: ClaimOutcome | undefined;
    try {
      outcome = await context.calls.bounded(context.coordinator.claimOutcome(key));
    } catch {
      outcome = 'pending';
    }
    if (outcome === 'success' || outcome === 'failure') return outcome;
    // A claim that vanished (expired, or the store restarted empty) ended nowhere.
    if (outcome === undefined || performance.now() > deadline) return 'failure';
    await sleep(pause);
    pause = Math.min(pause * 2, 200);
  }
}
