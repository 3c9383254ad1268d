/**
 * The fault plan of a run: what goes wrong when, drawn from the seed alone, so that one
 * seed always gives the same plan. Times are ms after the load starts. Faults begin once
 * every user had time to log in and end a few seconds before the load does, so that the
 * last ones can play out and the run ends settled.
 */
import type { EndpointName } from 'passport-argus/emulator';
import { Random } from './random.ts';
import { STRATEGY_TIMEOUT } from './settings.ts';

/**
 * How long an Argus fault lasts: `during` ms (every call to the endpoint in that time, as in
 * a blip of a real service, which ends whoever calls), or for the next `times` calls (the
 * slowdowns that put refreshes in flight before a heavy fault).
 */
export type FaultSpan =
  | { times: number; during?: undefined }
  | { during: number; times?: undefined };

/** One planned event. */
export type PlannedFault =
  /** Argus answers slowly, within the strategy's timeout: refreshes stay in flight a while. */
  | ({ at: number; kind: 'argus-slow'; endpoint: EndpointName; delay: number } & FaultSpan)
  /**
   * Argus answers late, well past the strategy's timeout (by more than a busy machine's
   * event-loop lag, so that the request is never processed after its client left).
   */
  | ({ at: number; kind: 'argus-latency'; endpoint: EndpointName; delay: number } & FaultSpan)
  /** Argus answers with a server error. */
  | ({ at: number; kind: 'argus-5xx'; endpoint: EndpointName; status: number } & FaultSpan)
  /** Argus drops the connection. */
  | ({ at: number; kind: 'argus-reset'; endpoint: EndpointName } & FaultSpan)
  /** Argus sends the start of an answer and drops the connection. */
  | ({ at: number; kind: 'argus-truncate'; endpoint: EndpointName } & FaultSpan)
  /**
   * The user logs out of Argus (every grant of theirs ends): at once, or `after` ms into
   * the session's next burst, while its refresh is in flight.
   */
  | { at: number; kind: 'argus-logout'; user: number; midBurst: boolean; after: number }
  /**
   * The user logs out of the app `after` ms into the session's next burst, as from another
   * tab (not a fault: load that ends sessions on purpose, while others wait on a refresh).
   */
  | { at: number; kind: 'user-logout'; user: number; after: number }
  /** redis-server stops (SIGTERM) and starts again `down` ms later. */
  | { at: number; kind: 'redis-restart'; down: number }
  /** redis-server is frozen (SIGSTOP) for `pause` ms. */
  | { at: number; kind: 'redis-pause'; pause: number }
  /** An instance is killed (SIGKILL) mid-refresh and starts again `down` ms later. */
  | { at: number; kind: 'instance-kill'; instance: number; user: number; down: number };

/** The kinds of planned events. */
export type FaultKind = PlannedFault['kind'];

/** What the plan depends on. */
export interface PlanInput {
  seed: number;
  /** Length of the load, ms. */
  duration: number;
  instances: number;
  users: number;
}

/** When faults may happen: after the logins, and not in the last seconds. */
export function faultWindow(duration: number): { from: number; to: number } {
  return { from: Math.min(6000, duration * 0.2), to: duration - Math.min(6000, duration * 0.2) };
}

function argusFault(random: Random, at: number): PlannedFault {
  // The token endpoint carries the refreshes, the riskier half: it gets most faults.
  const endpoint: EndpointName = random.chance(0.65) ? 'token' : 'currentuser';
  // Blips of a fifth of a second to two and a half seconds, whatever the calls in them.
  const during = random.int(200, 2500);
  switch (random.int(0, 4)) {
    case 4:
      return {
        at,
        kind: 'argus-slow',
        endpoint: 'token',
        during: random.int(500, 3000),
        delay: random.int(300, Math.round(STRATEGY_TIMEOUT * 0.75)),
      };
    case 0:
      return {
        at,
        kind: 'argus-latency',
        endpoint,
        during: random.int(200, 1500),
        delay: STRATEGY_TIMEOUT + random.int(1500, 3000),
      };
    case 1:
      return { at, kind: 'argus-5xx', endpoint, during, status: random.pick([500, 502, 503, 504]) };
    case 2:
      return { at, kind: 'argus-reset', endpoint, during };
    default:
      return { at, kind: 'argus-truncate', endpoint, during };
  }
}

/** Draws the plan of a run; sorted by time. */
export function planFaults(input: PlanInput): PlannedFault[] {
  const random = new Random(input.seed);
  const { from, to } = faultWindow(input.duration);
  const span = to - from;
  const plan: PlannedFault[] = [];
  const anytime = () => from + random.int(0, span);

  // The heavy faults, one of each per minute of load, each in its own slot so that they
  // do not overlap: Redis restarted, Redis frozen, an instance killed mid-refresh.
  const rounds = Math.max(1, Math.round(input.duration / 60_000));
  const heavy = rounds * 3;
  const slot = span / heavy;
  const kinds = ['redis-restart', 'redis-pause', 'instance-kill'] as const;
  const order = random.shuffle(Array.from({ length: heavy }, (_, i) => kinds[i % 3] ?? kinds[0]));
  order.forEach((kind, i) => {
    const at = Math.round(from + slot * i + random.between(500, slot * 0.4));
    if (kind !== 'instance-kill') {
      // Argus slows down first, so that refreshes are in flight there when Redis goes
      // away: the moment when a refresh Argus has answered must still be kept.
      const delay = random.int(500, Math.round(STRATEGY_TIMEOUT * 0.75));
      plan.push({ at: at - delay, kind: 'argus-slow', endpoint: 'token', times: 10, delay });
    }
    if (kind === 'redis-restart') plan.push({ at, kind, down: random.int(300, 2000) });
    else if (kind === 'redis-pause') plan.push({ at, kind, pause: random.int(1000, 4000) });
    else {
      plan.push({
        at,
        kind,
        instance: random.int(1, input.instances),
        user: random.int(0, input.users - 1),
        down: random.int(500, 2000),
      });
    }
  });

  // Argus faults, about one every 2.5 s.
  for (let i = Math.round(span / 2500); i > 0; i--) plan.push(argusFault(random, anytime()));
  // Argus logouts and app logouts, a few per 10 s each.
  for (let i = Math.max(3, Math.round(input.duration / 3000)); i > 0; i--) {
    plan.push({
      at: anytime(),
      kind: 'argus-logout',
      user: random.int(0, input.users - 1),
      midBurst: random.chance(0.5),
      after: random.int(0, 400),
    });
  }
  for (let i = Math.max(2, Math.round(input.duration / 5000)); i > 0; i--) {
    plan.push({
      at: anytime(),
      kind: 'user-logout',
      user: random.int(0, input.users - 1),
      after: random.int(0, 400),
    });
  }
  return plan.sort((a, b) => a.at - b.at);
}

/** A one-line description of a planned event, for --verbose. */
export function describe(fault: PlannedFault): string {
  const { at, kind, ...rest } = fault;
  const details = Object.entries(rest)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return `${(at / 1000).toFixed(1).padStart(6)} s  ${kind} ${details}`;
}
