/**
 * Login throughput: complete logins per second (authorize, the Argus login form, the
 * code, the token exchange, the profile, the callback landing) with ArgusStrategy, both
 * on its node:http client and on its previous one (undici's request), and with a bare
 * passport-oauth2 OAuth2Strategy, against the same emulator, alternating. The apps, the
 * emulator and the browsers each run in their own process; the CPU time the app process
 * spends per login says where the time goes.
 */
import { CLIENT_ID, CLIENT_SECRET, loginThrough } from './lib/apps.ts';
import type { Grant } from './lib/emulator-server.ts';
import { type Remote, startProcess } from './lib/process.ts';
import { type Row, spreadRow } from './lib/report.ts';
import { alternate, ratio, spread } from './lib/stats.ts';

const BENCH = 'login throughput';

/** Settings of the login-throughput benchmark. */
export interface LoginThroughputOptions {
  rounds?: number;
  /** Logins per round and app. */
  logins?: number;
  concurrency?: number;
  /**
   * The CPU comparison: per round, this many turns of `cpuChunk` logins on each of the two
   * apps, one after the other.
   */
  cpuTurns?: number;
  /** Logins per app and turn of the CPU comparison. */
  cpuChunk?: number;
}

/** Runs `count` logins, `concurrency` at a time; resolves to the seconds they took. */
async function loginsRun(
  appURL: string,
  emulatorURL: string,
  count: number,
  concurrency: number,
): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await loginThrough(appURL, emulatorURL);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return (performance.now() - t0) / 1000;
}

/**
 * The apps measured: passport-argus on each HTTP layer, and the bare passport-oauth2 peers
 * (with the profile call, without it, and with the profile call, PKCE and the no-store
 * headers: the security work ArgusStrategy does by default that passport-oauth2 can do).
 */
type Variant = 'argus' | 'argusUndici' | 'bareProfile' | 'bareNoProfile' | 'bareSecured';

type Origins = Record<Variant, { url: string; callbackURL: string }>;

/** Runs the benchmark and returns its rows. */
export async function loginThroughput(options: LoginThroughputOptions = {}): Promise<Row[]> {
  const {
    rounds = 5,
    logins: count = 100,
    concurrency = 8,
    cpuTurns = 10,
    cpuChunk = 20,
  } = options;
  const script = new URL('./lib/login-server.ts', import.meta.url);
  // Each app in a process of its own, so that every process is alike; the app on undici
  // gets passport-argus's previous HTTP layer in place of node:http.
  const hosts: Record<Variant, Remote> = {
    argus: await startProcess(script),
    argusUndici: await startProcess(script, [new URL('./lib/use-undici.ts', import.meta.url)]),
    bareProfile: await startProcess(script),
    bareNoProfile: await startProcess(script),
    bareSecured: await startProcess(script),
  };
  const variants = Object.keys(hosts) as Variant[];
  const argus = await startProcess(new URL('./lib/emulator-server.ts', import.meta.url));
  try {
    const origins = {} as Origins;
    for (const name of variants) {
      // The undici app is an ArgusStrategy app like the first.
      const app = name === 'argusUndici' ? 'argus' : name;
      const listening = await hosts[name].call<Record<string, Origins[Variant]>>('listen', [app]);
      origins[name] = listening[app] as Origins[Variant];
    }
    const emulatorURL = await argus.call<string>('start', {
      clients: [
        {
          clientID: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: Object.values(origins).map((o) => o.callbackURL),
        },
      ],
    });
    for (const name of variants) await hosts[name].call('build', emulatorURL);
    const appCpu: Record<Variant, number[]> = {
      argus: [],
      argusUndici: [],
      bareProfile: [],
      bareNoProfile: [],
      bareSecured: [],
    };
    const emulatorCpu: number[] = [];
    const run =
      (name: Variant, keep = true) =>
      async () => {
        const app = hosts[name];
        const [app0, emu0] = [await app.call<number>('cpu'), await argus.call<number>('cpu')];
        const seconds = await loginsRun(origins[name].url, emulatorURL, count, concurrency);
        const [app1, emu1] = [await app.call<number>('cpu'), await argus.call<number>('cpu')];
        if (keep) {
          appCpu[name].push((app1 - app0) / 1000 / count);
          if (name === 'bareProfile') emulatorCpu.push((emu1 - emu0) / 1000 / count);
        }
        return count / seconds;
      };
    for (const name of variants) await run(name, false)();
    const rates = await alternate(
      rounds,
      Object.fromEntries(variants.map((name) => [name, run(name)])) as Record<
        Variant,
        () => Promise<number>
      >,
    );
    // App CPU per login, ArgusStrategy against bare passport-oauth2, in short turns: a
    // round of whole runs leaves each app to whatever else the machine did during its half
    // second, which moved the ratio by a third from round to round; turns of a few logins
    // each, many per round, put the apps through the same moments. The third app is bare
    // passport-oauth2 doing the security work ArgusStrategy does by default that it can do
    // (PKCE, no-store headers): what that work costs either library.
    const inTurns: Variant[] = ['argus', 'bareProfile', 'bareSecured'];
    const turnCpu = Object.fromEntries(inTurns.map((name) => [name, [] as number[]])) as Record<
      Variant,
      number[]
    >;
    const cpuOf = async (name: Variant, logins: number) => {
      const app = hosts[name];
      const before = await app.call<number>('cpu');
      await loginsRun(origins[name].url, emulatorURL, logins, concurrency);
      return (await app.call<number>('cpu')) - before;
    };
    const orders = permutations(inTurns);
    for (let round = 0; round < rounds; round++) {
      const total = Object.fromEntries(inTurns.map((name) => [name, 0])) as Record<Variant, number>;
      for (let turn = 0; turn < cpuTurns; turn++) {
        // Each app takes every place in the order equally often over the turns.
        for (const name of orders[(round * cpuTurns + turn) % orders.length] as Variant[]) {
          total[name] += await cpuOf(name, cpuChunk);
        }
      }
      for (const name of inTurns) turnCpu[name].push(total[name]);
    }

    // One call to Argus alone (a refresh grant), in turns: what it costs the app's process
    // through passport-argus's client on node:http and on undici, and through bare
    // node:http as passport-oauth2 calls.
    const [grant] = await argus.call<Grant[]>(
      'grants',
      CLIENT_ID,
      CLIENT_SECRET,
      origins.argus.callbackURL,
      1,
    );
    const refresh = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: grant?.refreshToken ?? '',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    }).toString();
    const tokenURL = `${emulatorURL}/authentication/v1/oauth/token`;
    const perCall = (remote: Remote, how: 'client' | 'http') => async () =>
      (await remote.call<number>('clientCost', how, tokenURL, refresh, 200)) / 1000;
    const transport = await alternate(rounds, {
      http: perCall(hosts.argus, 'client'),
      undici: perCall(hosts.argusUndici, 'client'),
      bare: perCall(hosts.bareProfile, 'http'),
    });
    return [
      spreadRow(
        BENCH,
        'ArgusStrategy / bare OAuth2Strategy with the same profile call, logins/s',
        ratio(rates.argus, rates.bareProfile),
        { target: { op: '>=', value: 0.9 } },
      ),
      spreadRow(
        BENCH,
        'ArgusStrategy / bare OAuth2Strategy without a profile call, logins/s',
        ratio(rates.argus, rates.bareNoProfile),
      ),
      spreadRow(
        BENCH,
        'ArgusStrategy on node:http / on undici, logins/s',
        ratio(rates.argus, rates.argusUndici),
      ),
      spreadRow(BENCH, 'ArgusStrategy logins/s (absolute, this machine)', spread(rates.argus)),
      spreadRow(BENCH, 'app CPU per login, ArgusStrategy', spread(appCpu.argus), { unit: 'ms' }),
      spreadRow(BENCH, 'app CPU per login, ArgusStrategy on undici', spread(appCpu.argusUndici), {
        unit: 'ms',
      }),
      spreadRow(
        BENCH,
        'app CPU per login, bare OAuth2Strategy with profile call',
        spread(appCpu.bareProfile),
        { unit: 'ms', peer: true },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, bare OAuth2Strategy with profile call, PKCE and no-store headers',
        spread(appCpu.bareSecured),
        { unit: 'ms', peer: true },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, bare OAuth2Strategy without profile call',
        spread(appCpu.bareNoProfile),
        { unit: 'ms', peer: true },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, ArgusStrategy / bare OAuth2Strategy with profile call, rounds of whole runs',
        ratio(appCpu.argus, appCpu.bareProfile),
      ),
      spreadRow(
        BENCH,
        `app CPU per login, ArgusStrategy / bare OAuth2Strategy with profile call, in turns of ${cpuChunk} logins`,
        ratio(turnCpu.argus, turnCpu.bareProfile),
        { target: { op: '<=', value: 1 } },
      ),
      spreadRow(
        BENCH,
        `app CPU per login, ArgusStrategy / bare OAuth2Strategy with profile call, PKCE and no-store headers, in turns of ${cpuChunk} logins`,
        ratio(turnCpu.argus, turnCpu.bareSecured),
      ),
      spreadRow(
        BENCH,
        `app CPU per login, bare OAuth2Strategy with PKCE and no-store headers / without, in turns of ${cpuChunk} logins`,
        ratio(turnCpu.bareSecured, turnCpu.bareProfile),
      ),
      spreadRow(BENCH, 'emulator CPU per login', spread(emulatorCpu), { unit: 'ms' }),
      spreadRow(
        BENCH,
        'app CPU per call to Argus, passport-argus on node:http',
        spread(transport.http),
        { unit: 'ms' },
      ),
      spreadRow(
        BENCH,
        'app CPU per call to Argus, passport-argus on undici',
        spread(transport.undici),
        { unit: 'ms' },
      ),
      spreadRow(
        BENCH,
        'app CPU per call to Argus, bare node:http (passport-oauth2)',
        spread(transport.bare),
        { unit: 'ms', peer: true },
      ),
      spreadRow(
        BENCH,
        'app CPU per call to Argus, node:http / undici',
        ratio(transport.http, transport.undici),
      ),
    ];
  } finally {
    for (const host of Object.values(hosts)) await host.stop();
    await argus.stop();
  }
}

/** Every order of `items`. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
