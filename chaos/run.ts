/**
 * The chaos run: `npm run chaos [-- --seconds N --seed S]`. Starts a persistent
 * redis-server, an Argus emulator with refresh-token rotation and reuse detection, and two
 * or three app instances sharing both; logs a hundred users in and keeps them busy while a
 * seeded plan of faults plays; then judges the session invariants from what the users saw
 * and what the emulator recorded, prints the counts, and exits non-zero unless all are 0.
 */
import { startArgusEmulator } from 'passport-argus/emulator';
import { dumpRun } from './dump.ts';
import { watchEventLoop } from './event-loop.ts';
import { planFaults, describe } from './fault-plan.ts';
import { runFaults } from './fault-runner.ts';
import { freePort } from './free-port.ts';
import { Instances } from './instances.ts';
import { Ledger } from './ledger.ts';
import { type ChaosOptions, parseOptions } from './options.ts';
import { Random } from './random.ts';
import { type ChaosRedis, startChaosRedis } from './redis-server.ts';
import { passed, printReport } from './report.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  TOKEN_LIFETIME,
  addressOf,
  passwordOf,
  userName,
} from './settings.ts';
import { ChaosUser, type LoadContext } from './user.ts';
import { judge } from './verdict.ts';

/** The emulator keeps the last 10 000 grant events. */
const GRANT_EVENT_LIMIT = 10_000;

async function chaos(options: ChaosOptions, aborted: AbortSignal): Promise<boolean> {
  const began = Date.now();
  let redis: ChaosRedis | undefined;
  let instances: Instances | undefined;
  // Whatever happens below, no process of the run outlives it.
  process.on('exit', () => {
    for (const pid of [redis?.pid, ...(instances?.pids() ?? [])]) {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
  redis = await startChaosRedis(options.plant !== 'volatile-redis');
  const ports = await Promise.all(Array.from({ length: options.instances }, () => freePort()));
  const names = Array.from({ length: options.users }, (_, i) => userName(i));
  const emulator = await startArgusEmulator({
    quiet: true,
    tokenLifetime: TOKEN_LIFETIME,
    rotateRefreshTokens: true,
    reuseDetection: true,
    users: names.map((name) => ({ userName: name, password: passwordOf(name), name })),
    clients: [
      {
        clientID: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: ports.map((port) => `http://127.0.0.1:${port}/oauth/callback`),
      },
    ],
  });
  try {
    instances = new Instances(ports, redis.url, emulator.url, options.plant, options.verbose);
    await instances.startAll();
    const duration = options.seconds * 1000;
    const plan = planFaults({ ...options, duration });
    if (options.verbose) for (const fault of plan) console.log(`  plan ${describe(fault)}`);
    const ledger = new Ledger();
    const start = Date.now();
    const loop = watchEventLoop();
    if (options.verbose) console.log(`  load starts at ${new Date(start).toISOString()}`);
    const context: LoadContext = {
      instances,
      ledger,
      portalURL: emulator.portalURL,
      stopAt: start + duration,
    };
    aborted.addEventListener('abort', () => {
      context.stopAt = 0;
    });
    // The load's choices come from the seed too, on a stream apart from the plan's.
    const random = new Random(options.seed ^ 0x5bd1e995);
    const users = names.map((name, i) => new ChaosUser(name, addressOf(i), random.fork(), context));
    // The first logins spread over a few seconds, as users arrive.
    const arrival = Math.min(5000, duration * 0.15) / options.users;
    const running = users.map((user, i) => user.run(Math.round(i * arrival)));
    const faults = await runFaults(
      plan,
      start,
      { emulator, redis, instances, users, verbose: options.verbose },
      aborted,
    );
    await Promise.all(running);
    const lag = loop.stop();
    if (aborted.aborted) return false;
    const events = emulator.grantEvents();
    const verdict = judge({
      ledger,
      events,
      eventLimit: GRANT_EVENT_LIMIT,
      runStart: began,
      faults,
      appEvents: instances.sessionEvents,
      crashes: instances.crashes.length,
    });
    if (options.dump !== undefined) {
      dumpRun(options.dump, {
        ledger,
        grantEvents: events,
        appEvents: instances.sessionEvents,
        faults,
      });
    }
    printReport({
      options,
      elapsed: Date.now() - began,
      ledger,
      events,
      faults,
      appErrors: instances.errors,
      appEvents: instances.sessionEvents,
      crashes: instances.crashes,
      lag,
      verdict,
    });
    return passed(verdict);
  } finally {
    await instances?.stopAll();
    await emulator.close();
    await redis.dispose();
  }
}

let options: ChaosOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal does not wait for the clean stop.
    if (abort.signal.aborted) process.exit(130);
    console.error(`\n${signal}: stopping the run`);
    abort.abort();
  });
}
try {
  const ok = await chaos(options, abort.signal);
  process.exit(abort.signal.aborted ? 130 : ok ? 0 : 1);
} catch (error) {
  console.error('the chaos run failed:', error);
  process.exit(2);
}
