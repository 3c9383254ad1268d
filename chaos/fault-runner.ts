/**
 * Plays the fault plan against the running system at its planned times: Argus failures
 * through the emulator's failNext plans, Argus logouts, app logouts, Redis restarted and
 * frozen, and an instance killed while its refresh waits at the emulator.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArgusEmulator } from 'passport-argus/emulator';
import { describe, type FaultKind, type FaultSpan, type PlannedFault } from './fault-plan.ts';
import type { Instances } from './instances.ts';
import type { ChaosRedis } from './redis-server.ts';
import { STRATEGY_TIMEOUT } from './settings.ts';
import type { ChaosUser } from './user.ts';

/** A time span, in Date.now() ms. */
export interface Span {
  from: number;
  to: number;
}

/** What the faults did, for the verdict and the report. */
export interface FaultLog {
  /** Events played, by kind. */
  played: Map<FaultKind, number>;
  /** When Redis could not serve: restarts and pauses. */
  redisOutages: Span[];
  /** Instance kills: how many caught a refresh of theirs still in flight at the emulator. */
  killsMidRefresh: number;
  /** Whose refresh each kill interrupted, and from the kill until the instance was back. */
  kills: ({ user: string } & Span)[];
  /** Planned events that could not be played (no user or instance to play them on). */
  skipped: number;
}

/** What the faults act on. */
export interface FaultTargets {
  emulator: ArgusEmulator;
  redis: ChaosRedis;
  instances: Instances;
  users: ChaosUser[];
  verbose: boolean;
}

/** Plays `plan` from `start` (Date.now() ms) on; resolves once every event has played out. */
export async function runFaults(
  plan: readonly PlannedFault[],
  start: number,
  targets: FaultTargets,
  signal: AbortSignal,
): Promise<FaultLog> {
  const log: FaultLog = {
    played: new Map(),
    redisOutages: [],
    killsMidRefresh: 0,
    kills: [],
    skipped: 0,
  };
  const running: Promise<void>[] = [];
  for (const fault of plan) {
    const wait = start + fault.at - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    if (targets.verbose) console.log(`  fault ${describe(fault)}`);
    // Long faults (a frozen Redis) run beside the next ones instead of delaying them.
    running.push(
      play(fault, targets, log).then(
        (played) => {
          if (played) log.played.set(fault.kind, (log.played.get(fault.kind) ?? 0) + 1);
          else log.skipped++;
        },
        (error: unknown) => {
          log.skipped++;
          console.error(`  fault ${fault.kind} failed: ${String(error)}`);
        },
      ),
    );
  }
  await Promise.all(running);
  return log;
}

/** The emulator's plan field for how long a fault lasts: a time, or a number of calls. */
function spanOf(span: FaultSpan): { during: number } | { times: number } {
  return span.during !== undefined ? { during: span.during } : { times: span.times };
}

/** Plays one event; false when there was nothing to play it on. */
async function play(fault: PlannedFault, targets: FaultTargets, log: FaultLog): Promise<boolean> {
  const { emulator, redis, users } = targets;
  switch (fault.kind) {
    case 'argus-slow':
    case 'argus-latency':
      emulator.failNext(fault.endpoint, { delay: fault.delay, ...spanOf(fault) });
      return true;
    case 'argus-5xx':
      emulator.failNext(fault.endpoint, { status: fault.status, ...spanOf(fault) });
      return true;
    case 'argus-reset':
      emulator.failNext(fault.endpoint, { reset: true, ...spanOf(fault) });
      return true;
    case 'argus-truncate':
      emulator.failNext(fault.endpoint, { truncate: true, ...spanOf(fault) });
      return true;
    case 'argus-logout': {
      const user = users[fault.user];
      if (user === undefined) return false;
      const logOut = () => emulator.logoutUser(user.name);
      if (fault.midBurst) return user.atNextBurst(logOut, fault.after);
      logOut();
      return true;
    }
    case 'user-logout':
      return users[fault.user]?.logOutAtNextBurst(fault.after) ?? false;
    case 'redis-restart': {
      const from = Date.now();
      await redis.stop();
      await sleep(fault.down);
      await redis.start();
      log.redisOutages.push({ from, to: Date.now() });
      return true;
    }
    case 'redis-pause': {
      const from = Date.now();
      redis.pause();
      await sleep(fault.pause);
      redis.resume();
      log.redisOutages.push({ from, to: Date.now() });
      return true;
    }
    case 'instance-kill':
      return killMidRefresh(fault, targets, log);
  }
}

/**
 * Kills an instance while a refresh it sent waits at the emulator: a user is held, the
 * next token answers are delayed (less than the strategy's timeout, so that a live
 * instance would wait for them), the held user's refresh goes to the instance, and the
 * instance dies as soon as the emulator has that refresh. It starts again `down` ms later.
 */
async function killMidRefresh(
  fault: Extract<PlannedFault, { kind: 'instance-kill' }>,
  targets: FaultTargets,
  log: FaultLog,
): Promise<boolean> {
  const { emulator, instances, users } = targets;
  const instance =
    instances.list[fault.instance - 1]?.up === true
      ? instances.list[fault.instance - 1]
      : instances.up()[0];
  if (instance === undefined) return false;
  let user: ChaosUser | undefined;
  for (let i = 0; i < users.length && user === undefined; i++) {
    const candidate = users[(fault.user + i) % users.length];
    if (candidate?.loggedIn && (await candidate.reserve())) user = candidate;
  }
  if (user === undefined) return false;
  const kill: { user: string } & Span = { user: user.name, from: 0, to: 0 };
  try {
    const since = emulator.clock.now();
    // Several token answers slow down, so that the held user's is very likely among them.
    emulator.failNext('token', { delay: Math.round(STRATEGY_TIMEOUT * 0.75), times: 6 });
    const answer = user.refreshOn(instance);
    const arrived = () =>
      emulator
        .requestsTo('token')
        .some(
          (r) =>
            r.at >= since &&
            r.form?.grant_type?.[0] === 'refresh_token' &&
            r.headers['x-forwarded-for'] === user.address,
        );
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !arrived()) await sleep(5);
    const settled = () =>
      emulator
        .grantEvents()
        .some((e) => e.at >= since && e.userName === user.name && e.type !== 'issued');
    const midRefresh = arrived() && !settled();
    kill.from = Date.now();
    await instance.kill('SIGKILL');
    if (midRefresh) log.killsMidRefresh++;
    await answer;
  } finally {
    user.release();
  }
  await sleep(fault.down);
  try {
    await instance.start();
  } finally {
    kill.to = Date.now();
    log.kills.push(kill);
  }
  return true;
}
