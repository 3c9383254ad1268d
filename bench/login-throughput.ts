/**
 * Login throughput: complete logins per second (authorize, the Argus login form, the
 * code, the token exchange, the profile, the callback landing) with ArgusStrategy and
 * with a bare passport-oauth2 OAuth2Strategy against the same emulator, alternating.
 * The apps, the emulator and the browsers each run in their own process; the CPU time
 * the app process spends per login says where the time goes. ArgusStrategy runs three
 * ways: with nobody subscribed to its tracing channels, with subscribers that do nothing
 * (what the channels alone cost) and with `otelSpans` and the OpenTelemetry SDK.
 */
import { CLIENT_ID, CLIENT_SECRET, loginThrough } from './lib/apps.ts';
import type { Grant } from './lib/emulator-server.ts';
import type { LoginApp, TraceMode } from './lib/login-server.ts';
import { startProcess } from './lib/process.ts';
import { type Row, spreadRow } from './lib/report.ts';
import { alternate, ratio, spread } from './lib/stats.ts';

const BENCH = 'login throughput';

/** Settings of the login-throughput benchmark. */
export interface LoginThroughputOptions {
  rounds?: number;
  /** Logins per round and app. */
  logins?: number;
  concurrency?: number;
}

/** Runs `count` logins, `concurrency` at a time; resolves to the seconds they took. */
async function logins(
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

/** Runs the benchmark and returns its rows. */
export async function loginThroughput(options: LoginThroughputOptions = {}): Promise<Row[]> {
  const { rounds = 5, logins: count = 100, concurrency = 8 } = options;
  const apps = await startProcess(new URL('./lib/login-server.ts', import.meta.url));
  const argus = await startProcess(new URL('./lib/emulator-server.ts', import.meta.url));
  try {
    const origins =
      await apps.call<Record<LoginApp, { url: string; callbackURL: string }>>('listen');
    const emulatorURL = await argus.call<string>('start', {
      clients: [
        {
          clientID: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUris: Object.values(origins).map((o) => o.callbackURL),
        },
      ],
    });
    await apps.call('build', emulatorURL);
    type Variant = LoginApp | 'argusChannels' | 'argusOtel';
    const appOf: Record<Variant, [LoginApp, TraceMode]> = {
      argus: ['argus', 'off'],
      argusChannels: ['argus', 'channels'],
      argusOtel: ['argus', 'otel'],
      bareProfile: ['bareProfile', 'off'],
      bareNoProfile: ['bareNoProfile', 'off'],
    };
    const appCpu: Record<Variant, number[]> = {
      argus: [],
      argusChannels: [],
      argusOtel: [],
      bareProfile: [],
      bareNoProfile: [],
    };
    const emulatorCpu: number[] = [];
    const run =
      (name: Variant, keep = true) =>
      async () => {
        const [app, mode] = appOf[name];
        await apps.call('trace', mode);
        const [app0, emu0] = [await apps.call<number>('cpu'), await argus.call<number>('cpu')];
        const seconds = await logins(origins[app].url, emulatorURL, count, concurrency);
        const [app1, emu1] = [await apps.call<number>('cpu'), await argus.call<number>('cpu')];
        if (keep) {
          appCpu[name].push((app1 - app0) / 1000 / count);
          if (name === 'bareProfile') emulatorCpu.push((emu1 - emu0) / 1000 / count);
        }
        return count / seconds;
      };
    const variants = Object.keys(appOf) as Variant[];
    for (const name of variants) await run(name, false)();
    const rates = await alternate(
      rounds,
      Object.fromEntries(variants.map((name) => [name, run(name)])) as Record<
        Variant,
        () => Promise<number>
      >,
    );
    await apps.call('trace', 'off');
    // What one traced call costs the app's process, alone: the difference drowns in a login.
    const perCall: Record<TraceMode | 'bare', number[]> = {
      bare: [],
      off: [],
      channels: [],
      otel: [],
    };
    for (let i = 0; i < 3; i++) {
      for (const mode of ['bare', 'off', 'channels', 'otel'] as const) {
        perCall[mode].push(await apps.call<number>('traceCost', mode, 20_000));
      }
    }
    // The two calls a login makes to Argus, alone: what one costs the app's process with
    // passport-argus's own client (undici) and with node:http (passport-oauth2).
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
    const transport = { client: [] as number[], http: [] as number[] };
    for (let i = 0; i < 3; i++) {
      const cost = await apps.call<{ client: number; http: number }>(
        'clientCost',
        `${emulatorURL}/authentication/v1/oauth/token`,
        refresh,
        200,
      );
      transport.client.push(cost.client / 1000);
      transport.http.push(cost.http / 1000);
    }
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
        'ArgusStrategy, tracing channels subscribed (handlers that do nothing) / nobody subscribed, logins/s',
        ratio(rates.argusChannels, rates.argus),
      ),
      spreadRow(
        BENCH,
        'ArgusStrategy, otelSpans with the OpenTelemetry SDK / nobody subscribed, logins/s',
        ratio(rates.argusOtel, rates.argus),
      ),
      spreadRow(BENCH, 'app CPU per call, the work alone (no call site)', spread(perCall.bare), {
        unit: 'µs',
      }),
      spreadRow(BENCH, 'app CPU per traced call, nobody subscribed', spread(perCall.off), {
        unit: 'µs',
      }),
      spreadRow(
        BENCH,
        'app CPU per traced call, subscribers that do nothing',
        spread(perCall.channels),
        { unit: 'µs' },
      ),
      spreadRow(
        BENCH,
        'app CPU per traced call, otelSpans with the OpenTelemetry SDK',
        spread(perCall.otel),
        { unit: 'µs' },
      ),
      spreadRow(BENCH, 'ArgusStrategy logins/s (absolute, this machine)', spread(rates.argus)),
      spreadRow(BENCH, 'app CPU per login, ArgusStrategy', spread(appCpu.argus), { unit: 'ms' }),
      spreadRow(
        BENCH,
        'app CPU per login, ArgusStrategy, tracing channels subscribed',
        spread(appCpu.argusChannels),
        { unit: 'ms' },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, ArgusStrategy, otelSpans with the OpenTelemetry SDK',
        spread(appCpu.argusOtel),
        { unit: 'ms' },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, bare OAuth2Strategy with profile call',
        spread(appCpu.bareProfile),
        { unit: 'ms', peer: true },
      ),
      spreadRow(
        BENCH,
        'app CPU per login, bare OAuth2Strategy without profile call',
        spread(appCpu.bareNoProfile),
        { unit: 'ms', peer: true },
      ),
      spreadRow(BENCH, 'emulator CPU per login', spread(emulatorCpu), { unit: 'ms' }),
      spreadRow(
        BENCH,
        'app CPU per call to Argus with undici (passport-argus)',
        spread(transport.client),
        {
          unit: 'ms',
        },
      ),
      spreadRow(
        BENCH,
        'app CPU per call to Argus with node:http (passport-oauth2)',
        spread(transport.http),
        { unit: 'ms', peer: true },
      ),
    ];
  } finally {
    await apps.stop();
    await argus.stop();
  }
}
