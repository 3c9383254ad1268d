/**
 * Refresh storm: 200 concurrent requests of one session whose access token has expired.
 * Counts the refresh calls that reach the emulator's token endpoint and times the storm
 * against one lone refresh request of another session. Peers: the hand-written
 * passport-oauth2-refresh guard, and two requireArgus instances sharing Redis. Beside
 * each requireArgus app, the same app with `encryptionKeys`, in alternation with it: a
 * refresh then opens the set, seals the answer for the session and for the coordinator.
 */
import { randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import { RedisRefreshCoordinator } from 'passport-argus';
import { type ArgusEmulator, startArgusEmulator } from 'passport-argus/emulator';
import { createClient, type RedisClientType } from 'redis';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import {
  argusApp,
  bareApp,
  CLIENT_ID,
  CLIENT_SECRET,
  type Listening,
  listen,
  loginThrough,
} from './lib/apps.ts';
import { advanceClock, restoreClock } from './lib/clock.ts';
import { type Row, spreadRow } from './lib/report.ts';
import { ratio, spread } from './lib/stats.ts';

const BENCH = 'refresh storm';
/** Past the emulator's default 300-second token lifetime. */
const EXPIRE = 301_000;
/** The strategy options of the apps that seal their token sets. */
const SEALED = { encryptionKeys: randomBytes(32).toString('base64') };

/** Settings of the refresh-storm benchmark. */
export interface RefreshStormOptions {
  rounds?: number;
  concurrency?: number;
}

/** One app (or instance pair) under the storm. */
interface Target {
  /** Where each request of the storm goes (one URL per instance, used in turn). */
  urls: string[];
  login(): Promise<string>;
}

interface Measured {
  lone: number[];
  storm: number[];
  /** The same burst again, now that the session's token is fresh. */
  fresh: number[];
  calls: number[];
}

const measured = (): Measured => ({ lone: [], storm: [], fresh: [], calls: [] });

function refreshCalls(emulator: ArgusEmulator): number {
  return emulator.requestsTo('token').filter((r) => r.form?.grant_type?.[0] === 'refresh_token')
    .length;
}

async function answerAll(urls: string[], cookie: string, count: number): Promise<number> {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await fetch(urls[i % urls.length] as string, {
        headers: { cookie, accept: 'application/json' },
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  const elapsed = performance.now() - started;
  const failed = answers.filter((status) => status !== 200).length;
  if (failed > 0) throw new Error(`${failed} of ${count} storm requests were not answered 200`);
  return elapsed;
}

/**
 * One lone refresh and one storm, each on a session just logged in and then expired,
 * and the storm's burst once more now that its session's token is fresh.
 */
async function round(
  target: Target,
  emulator: ArgusEmulator,
  concurrency: number,
  into: Measured,
): Promise<void> {
  const loneCookie = await target.login();
  advanceClock(EXPIRE);
  into.lone.push(await answerAll(target.urls.slice(0, 1), loneCookie, 1));
  const cookie = await target.login();
  advanceClock(EXPIRE);
  // The emulator keeps the last 10,000 requests: count from an empty record.
  emulator.clearRequests();
  into.storm.push(await answerAll(target.urls, cookie, concurrency));
  into.calls.push(refreshCalls(emulator));
  into.fresh.push(await answerAll(target.urls, cookie, concurrency));
}

/** Logs in through the app at `url` and returns its session cookie. */
async function loginCookie(url: string, emulatorURL: string): Promise<string> {
  const value = (await loginThrough(url, emulatorURL)).cookie(url, 'connect.sid');
  if (value === undefined) throw new Error('the login left no session cookie');
  return `connect.sid=${value}`;
}

/** Runs the benchmark and returns its rows. */
export async function refreshStorm(options: RefreshStormOptions = {}): Promise<Row[]> {
  const { rounds = 5, concurrency = 200 } = options;
  const closers: Array<() => Promise<unknown>> = [];
  try {
    // One process: requireArgus and the hand-written peer, each with its own app.
    const a = await listen();
    const b = await listen();
    const c = await listen();
    closers.push(a.close, b.close, c.close);
    const emulator = await startArgusEmulator({
      quiet: true,
      clients: [
        {
          clientID: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: [a.callbackURL, b.callbackURL, c.callbackURL],
        },
      ],
    });
    closers.push(() => emulator.close());
    a.mount(argusApp({ emulatorURL: emulator.url, callbackURL: a.callbackURL }).app);
    b.mount(bareApp({ emulatorURL: emulator.url, callbackURL: b.callbackURL }));
    c.mount(
      argusApp({ emulatorURL: emulator.url, callbackURL: c.callbackURL, strategy: SEALED }).app,
    );
    const single = (app: Listening): Target => ({
      urls: [`${app.url}/app/me`],
      login: () => loginCookie(app.url, emulator.url),
    });
    const argus = measured();
    const bare = measured();
    const sealed = measured();
    // Warm-up round for each (connections, JIT), not kept.
    await round(single(a), emulator, concurrency, measured());
    await round(single(b), emulator, concurrency, measured());
    await round(single(c), emulator, concurrency, measured());
    for (let i = 0; i < rounds; i++) {
      const order: Array<[Target, Measured]> = [
        [single(a), argus],
        [single(b), bare],
        [single(c), sealed],
      ];
      if (i % 2 === 1) order.reverse();
      for (const [target, into] of order) await round(target, emulator, concurrency, into);
    }

    const redis = await redisRounds(rounds, concurrency, closers);
    const storm = `${concurrency} concurrent requests`;
    const rows: Row[] = [
      spreadRow(BENCH, `refresh calls for ${storm}, requireArgus()`, spread(argus.calls), {
        target: { op: '=', value: 1 },
        judge: 'worst',
      }),
      spreadRow(BENCH, `refresh calls for ${storm}, passport-oauth2-refresh`, spread(bare.calls), {
        peer: true,
      }),
      spreadRow(
        BENCH,
        'storm time / lone refresh request time, requireArgus()',
        ratio(argus.storm, argus.lone),
      ),
      spreadRow(
        BENCH,
        'storm time / lone refresh request time, passport-oauth2-refresh',
        ratio(bare.storm, bare.lone),
        { peer: true },
      ),
      spreadRow(
        BENCH,
        'storm time / the same burst with a fresh token, requireArgus()',
        ratio(argus.storm, argus.fresh),
      ),
      spreadRow(
        BENCH,
        'storm time / the same burst with a fresh token, passport-oauth2-refresh',
        ratio(bare.storm, bare.fresh),
        { peer: true },
      ),
      spreadRow(
        BENCH,
        `refresh calls for ${storm}, requireArgus() with encryptionKeys`,
        spread(sealed.calls),
        { target: { op: '=', value: 1 }, judge: 'worst' },
      ),
      spreadRow(
        BENCH,
        'storm time, requireArgus() with encryptionKeys / without',
        ratio(sealed.storm, argus.storm),
      ),
      spreadRow(
        BENCH,
        'lone refresh request time, requireArgus() with encryptionKeys / without',
        ratio(sealed.lone, argus.lone),
      ),
    ];
    // Without redis-server, startRedisServer has printed why; the other rows stand alone.
    if (redis !== undefined) {
      rows.push(
        spreadRow(
          BENCH,
          `refresh calls for ${storm} over two instances sharing Redis`,
          spread(redis.plain.calls),
          {
            target: { op: '=', value: 1 },
            judge: 'worst',
          },
        ),
        spreadRow(
          BENCH,
          'storm time / lone refresh request time, two instances sharing Redis',
          ratio(redis.plain.storm, redis.plain.lone),
        ),
        spreadRow(
          BENCH,
          'storm time / the same burst with a fresh token, two instances sharing Redis',
          ratio(redis.plain.storm, redis.plain.fresh),
        ),
        spreadRow(
          BENCH,
          `refresh calls for ${storm} over two instances sharing Redis, with encryptionKeys`,
          spread(redis.sealed.calls),
          { target: { op: '=', value: 1 }, judge: 'worst' },
        ),
        spreadRow(
          BENCH,
          'storm time over two instances sharing Redis, with encryptionKeys / without',
          ratio(redis.sealed.storm, redis.plain.storm),
        ),
      );
    }
    return rows;
  } finally {
    restoreClock();
    for (const close of closers.reverse()) await close();
  }
}

/**
 * The storm over two Express apps in this process with connect-redis and
 * RedisRefreshCoordinator, and over a second such pair whose strategies seal their token
 * sets, in alternation.
 */
async function redisRounds(
  rounds: number,
  concurrency: number,
  closers: Array<() => Promise<unknown>>,
): Promise<{ plain: Measured; sealed: Measured } | undefined> {
  const server = await startRedisServer();
  if (server === undefined) return undefined;
  closers.push(() => server.stop());
  const client = async () => {
    const redis = createClient({ url: server.url, disableOfflineQueue: true });
    redis.on('error', () => undefined);
    await redis.connect();
    closers.push(() => redis.quit());
    return redis;
  };
  const apps = [await listen(), await listen(), await listen(), await listen()];
  closers.push(...apps.map((app) => app.close));
  const emulator = await startArgusEmulator({
    quiet: true,
    clients: [
      {
        clientID: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: apps.map((app) => app.callbackURL),
      },
    ],
  });
  closers.push(() => emulator.close());
  const pair = async (first: Listening, second: Listening, strategy = {}): Promise<Target> => {
    for (const app of [first, second]) {
      const store = new RedisStore({ client: (await client()) as unknown as RedisClientType });
      const coordinator = new RedisRefreshCoordinator(await client());
      const options = { emulatorURL: emulator.url, callbackURL: app.callbackURL, strategy };
      app.mount(argusApp({ ...options, store, coordinator }).app);
    }
    return {
      urls: [`${first.url}/app/me`, `${second.url}/app/me`],
      login: () => loginCookie(first.url, emulator.url),
    };
  };
  const [a, b, c, d] = apps as [Listening, Listening, Listening, Listening];
  const plainPair = await pair(a, b);
  const sealedPair = await pair(c, d, SEALED);
  const result = { plain: measured(), sealed: measured() };
  await round(plainPair, emulator, concurrency, measured());
  await round(sealedPair, emulator, concurrency, measured());
  for (let i = 0; i < rounds; i++) {
    const order: Array<[Target, Measured]> = [
      [plainPair, result.plain],
      [sealedPair, result.sealed],
    ];
    if (i % 2 === 1) order.reverse();
    for (const [target, into] of order) await round(target, emulator, concurrency, into);
  }
  return result;
}
