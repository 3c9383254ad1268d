/**
 * Outage: 1,000 logged-in sessions whose tokens expire during a 60-second Argus outage,
 * with the breaker on and off, on one instance and on two sharing Redis. Counts the calls
 * that reach Argus during the outage, times the 503 answers, measures how long after
 * Argus is back the requests are served again, and counts the sessions lost.
 *
 * Time is compressed: the benchmark moves `Date.now` (which the app, the breaker and the
 * emulator all read) one simulated second per step, so the 60-second outage and the
 * 300-second tokens take a few seconds of wall-clock time; latencies are wall-clock.
 * Argus is "down" behind a gateway in two ways: the gateway answers 503 itself, as a load
 * balancer with no healthy backend does, or it holds every request unanswered, as a backend
 * that accepts connections and never answers does (a hang: each call would wait the
 * strategy's whole `timeout`, 10 s, in real time). Without the breaker a hang is measured
 * on a sample (every session at once cannot wait 10 s each in a benchmark); its p99 is the
 * timeout whatever the sample.
 */
import { RedisStore } from 'connect-redis';
import type { Express } from 'express';
import { type ArgusStrategy, RedisRefreshCoordinator } from 'passport-argus';
import { startArgusEmulator } from 'passport-argus/emulator';
import { createClient, type RedisClientType } from 'redis';
import { Browser } from '../test/helpers/browser.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { argusApp, CLIENT_ID, CLIENT_SECRET, listen, loginThrough } from './lib/apps.ts';
import { advanceClock, restoreClock } from './lib/clock.ts';
import { startGateway } from './lib/gateway.ts';
import { type Row, valueRow } from './lib/report.ts';

const BENCH = 'outage';
/** The emulator's token lifetime. */
const LIFETIME = 300_000;

/** Settings of the outage benchmark. */
export interface OutageOptions {
  sessions?: number;
  /** The outage, in simulated ms. */
  outage?: number;
  /** The breaker's probe interval, in ms. */
  probeInterval?: number;
  /** Each session sends a request every this many simulated ms. */
  every?: number;
  /** Requests in flight at once, over all instances. */
  connections?: number;
  /** Without the breaker, in a hang: expired sessions asked at once, all in flight together. */
  hangSample?: number;
}

/** How Argus is down: every call refused with a 503 by its gateway, or held unanswered. */
type Outage = 'refused' | 'hanging';

/** What one variant measured. */
interface Measured {
  /** Calls that reached Argus (the gateway) during the outage. */
  calls: number;
  /** Of those, the calls made before any instance's breaker opened. */
  beforeOpen: number;
  /** Wall-clock latencies of the 503 answers, in ms. */
  latencies: number[];
  /** Simulated ms from Argus back to the first request served 200 with an expired token. */
  firstServed: number;
  /** Simulated ms from Argus back until every instance serves every session again. */
  recovered: number;
  /** Sessions answered anything but 200 once Argus is back. */
  lost: number;
}

/** Moves Date.now to `at` (never back). */
function moveTo(at: number): void {
  const now = Date.now();
  if (at > now) advanceClock(at - now);
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One GET of `/app/me` with `cookie`: its status and wall-clock latency. */
async function hit(url: string, cookie: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const answer = await fetch(`${url}/app/me`, { headers: { cookie, accept: 'application/json' } });
  await answer.arrayBuffer();
  return { status: answer.status, ms: performance.now() - started };
}

/**
 * The breaker of a variant: off, its defaults (opening after two failures), or opening
 * after five (riding through longer blips, at three more calls to a down Argus).
 */
type BreakerChoice = 'off' | 'default' | 'five';

async function variant(
  instances: 1 | 2,
  choice: BreakerChoice,
  outage: Outage,
  options: Required<OutageOptions>,
): Promise<Measured | undefined> {
  const breakerOn = choice !== 'off';
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const servers = [await listen(), ...(instances === 2 ? [await listen()] : [])];
    for (const server of servers) closers.push(server.close);
    const emulator = await startArgusEmulator({
      quiet: true,
      tokenLifetime: LIFETIME,
      clients: [
        {
          clientID: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: servers.map((s) => s.callbackURL),
        },
      ],
    });
    closers.push(() => emulator.close());
    const gateway = await startGateway(emulator.url);
    closers.push(() => gateway.close());
    let redisURL: string | undefined;
    if (instances === 2) {
      const redis = await startRedisServer();
      if (redis === undefined) return undefined;
      closers.push(() => redis.stop());
      redisURL = redis.url;
    }
    const client = async () => {
      const redis = createClient({ url: redisURL, disableOfflineQueue: true });
      redis.on('error', () => undefined);
      await redis.connect();
      closers.push(() => redis.quit());
      return redis;
    };
    const strategies: ArgusStrategy[] = [];
    for (const server of servers) {
      const shared =
        redisURL === undefined
          ? {}
          : {
              store: new RedisStore({ client: (await client()) as unknown as RedisClientType }),
              coordinator: new RedisRefreshCoordinator(await client()),
            };
      const { app, strategy } = argusApp({
        emulatorURL: emulator.url,
        callbackURL: server.callbackURL,
        ...shared,
        strategy: {
          apiURL: gateway.url,
          breaker: breakerOn
            ? {
                probeInterval: options.probeInterval,
                ...(choice === 'five' ? { failures: 5 } : {}),
              }
            : false,
        },
      });
      server.mount(app as Express);
      strategies.push(strategy);
    }
    const urls = servers.map((s) => s.url);

    // Log in, one group per simulated second, so the tokens expire one group per second.
    const seconds = Math.ceil(options.outage / 1000);
    const base = Date.now();
    const cookies: string[] = [];
    for (let group = 0; group < seconds; group++) {
      moveTo(base + group * 1000);
      const size =
        Math.floor(((group + 1) * options.sessions) / seconds) -
        Math.floor((group * options.sessions) / seconds);
      await pool(Array.from({ length: size }), 8, async () => {
        const url = urls[cookies.length % urls.length] as string;
        const browser = await loginThrough(url, emulator.url, new Browser());
        const value = browser.cookie(url, 'connect.sid');
        if (value === undefined) throw new Error('the login left no session cookie');
        cookies.push(`connect.sid=${value}`);
      });
    }

    // The outage starts as the first group's tokens expire; the last expire a second
    // before it ends. Every session asks once per `every`, spread over the steps.
    const start = base + LIFETIME;
    const latencies: number[] = [];
    let beforeOpen: number | undefined;
    for (const strategy of strategies) {
      strategy.events.on('breaker-open', () => {
        beforeOpen ??= gateway.refused;
      });
    }
    moveTo(start);
    if (outage === 'refused') gateway.down();
    else gateway.hang();
    const end = start + options.outage;
    const ask = async (i: number) => {
      const { status, ms } = await hit(urls[i % urls.length] as string, cookies[i] as string);
      if (status === 503) latencies.push(ms);
      else if (status !== 200) throw new Error(`a request during the outage got ${status}`);
    };
    if (outage === 'hanging' && !breakerOn) {
      // Every call waits the whole timeout: a sample of expired sessions, all at once.
      moveTo(end - 1);
      const sample = cookies.map((_, i) => i).slice(0, options.hangSample);
      await pool(sample, sample.length, ask);
    } else {
      const stride = Math.round(options.every / 1000);
      for (let step = 0; step < seconds; step++) {
        moveTo(start + step * 1000);
        const due = cookies.map((_, i) => i).filter((i) => i % stride === step % stride);
        await pool(due, options.connections, ask);
      }
    }
    moveTo(end);
    const calls = gateway.refused;
    gateway.up();

    // Argus is back: every quarter of a simulated second, a few sessions ask through every
    // instance, until all are served (bounded at 40 steps, 10 simulated seconds).
    let firstServed = Number.NaN;
    let recovered = Number.NaN;
    for (let step = 0; step <= 40 && Number.isNaN(recovered); step++) {
      moveTo(end + step * 250);
      const statuses: number[] = [];
      await pool(
        Array.from({ length: 4 * urls.length }, (_, i) => i),
        options.connections,
        async (i) => {
          const index = (step * 4 * urls.length + i) % cookies.length;
          const url = urls[i % urls.length] as string;
          statuses.push((await hit(url, cookies[index] as string)).status);
        },
      );
      const elapsed = Date.now() - end;
      if (Number.isNaN(firstServed) && statuses.includes(200)) firstServed = elapsed;
      if (statuses.every((s) => s === 200)) recovered = elapsed;
    }

    // Every session once more: any answer but 200 is a session lost.
    let lost = 0;
    await pool(
      cookies.map((_, i) => i),
      options.connections,
      async (i) => {
        const { status } = await hit(urls[i % urls.length] as string, cookies[i] as string);
        if (status !== 200) lost++;
      },
    );
    return { calls, beforeOpen: beforeOpen ?? calls, latencies, firstServed, recovered, lost };
  } finally {
    restoreClock();
    for (const close of closers.reverse()) await close();
  }
}

/** The `p`-th percentile of `values` (nearest rank), or NaN for none. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Runs the benchmark and returns its rows. */
export async function outage(options: OutageOptions = {}): Promise<Row[]> {
  const settings: Required<OutageOptions> = {
    sessions: 1000,
    outage: 60_000,
    probeInterval: 5000,
    every: 10_000,
    connections: 2,
    hangSample: 100,
    ...options,
  };
  const rows: Row[] = [];
  for (const outage of ['refused', 'hanging'] as const) {
    for (const instances of [1, 2] as const) {
      const on = await variant(instances, 'default', outage, settings);
      const five = await variant(instances, 'five', outage, settings);
      const off = await variant(instances, 'off', outage, settings);
      // Without redis-server, startRedisServer has printed why; the other rows stand alone.
      if (on === undefined || five === undefined || off === undefined) continue;
      rows.push(...outageRows(outage, instances, { on, five, off }, settings));
    }
  }
  return rows;
}

/** The rows of one kind of outage on one or two instances. */
function outageRows(
  outage: Outage,
  instances: 1 | 2,
  { on, five, off }: { on: Measured; five: Measured; off: Measured },
  settings: Required<OutageOptions>,
): Row[] {
  const seconds = settings.outage / 1000;
  const where = instances === 1 ? 'one instance' : 'two instances sharing Redis';
  const how = outage === 'refused' ? `${seconds} s of 503s` : `${seconds} s hang`;
  const goal = settings.outage / settings.probeInterval + instances;
  const offCalls =
    outage === 'refused'
      ? valueRow(BENCH, `Argus calls during a ${how}, breaker off, ${where}`, off.calls)
      : valueRow(
          BENCH,
          `Argus calls, breaker off, ${where}: one per request (${settings.hangSample} expired sessions sampled at once)`,
          off.calls,
        );
  return [
    offCalls,
    valueRow(BENCH, `Argus calls during a ${how}, breaker on (defaults), ${where}`, on.calls, {
      target: { op: '<=', value: goal },
    }),
    valueRow(
      BENCH,
      `of those, after the breaker opened (probes), ${how}, ${where}`,
      on.calls - on.beforeOpen,
    ),
    // Each failure before the opening is one more call: five spends three more than two.
    valueRow(
      BENCH,
      `Argus calls during a ${how}, breaker on with failures: 5, ${where}`,
      five.calls,
    ),
    valueRow(
      BENCH,
      `p99 latency of the 503 answers, breaker on with failures: 5, ${how}, ${where}`,
      percentile(five.latencies, 99),
      { unit: 'ms', target: { op: '<', value: 50 } },
    ),
    valueRow(BENCH, `sessions lost, breaker on with failures: 5, ${how}, ${where}`, five.lost, {
      target: { op: '=', value: 0 },
    }),
    valueRow(
      BENCH,
      `p99 latency of the 503 answers, breaker off, ${how}, ${where}`,
      percentile(off.latencies, 99),
      { unit: 'ms' },
    ),
    valueRow(
      BENCH,
      `p99 latency of the 503 answers, breaker on, ${how}, ${where}`,
      percentile(on.latencies, 99),
      { unit: 'ms', target: { op: '<', value: 50 } },
    ),
    valueRow(
      BENCH,
      `time from Argus back to the first expired session served, breaker on, ${how}, ${where} (simulated)`,
      on.firstServed,
      { unit: 'ms', target: { op: '<=', value: settings.probeInterval } },
    ),
    valueRow(
      BENCH,
      `time from Argus back to every instance serving again, breaker on, ${how}, ${where} (simulated)`,
      on.recovered,
      { unit: 'ms' },
    ),
    valueRow(
      BENCH,
      `time from Argus back to every instance serving again, breaker off, ${how}, ${where} (simulated)`,
      off.recovered,
      { unit: 'ms' },
    ),
    valueRow(BENCH, `sessions lost, breaker on, ${how}, ${where}`, on.lost, {
      target: { op: '=', value: 0 },
    }),
    valueRow(BENCH, `sessions lost, breaker off, ${how}, ${where}`, off.lost, {
      target: { op: '=', value: 0 },
    }),
  ];
}
