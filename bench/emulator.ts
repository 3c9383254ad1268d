/**
 * The emulator under load: refresh_token grants per second at its token endpoint, from
 * autocannon in this process to the emulator in its own, so that the figures above can
 * be read knowing the emulator was not what held them back.
 */
import { CLIENT_ID, CLIENT_SECRET } from './lib/apps.ts';
import type { Grant } from './lib/emulator-server.ts';
import { load } from './lib/load.ts';
import { startProcess } from './lib/process.ts';
import { type Row, spreadRow, valueRow } from './lib/report.ts';
import { spread } from './lib/stats.ts';

const BENCH = 'emulator';

/** Settings of the emulator benchmark. */
export interface EmulatorBenchOptions {
  rounds?: number;
  seconds?: number;
  connections?: number;
  /** The highest rate of token requests the other benchmarks asked for, per second. */
  asked?: number;
}

/** Runs the benchmark and returns its rows. */
export async function emulatorThroughput(options: EmulatorBenchOptions = {}): Promise<Row[]> {
  const { rounds = 3, seconds = 1.5, connections = 10, asked } = options;
  const argus = await startProcess(new URL('./lib/emulator-server.ts', import.meta.url));
  try {
    const redirectUri = 'http://127.0.0.1/oauth/callback';
    const url = await argus.call<string>('start', {
      clients: [{ clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }],
    });
    const [grant] = await argus.call<Grant[]>('grants', CLIENT_ID, CLIENT_SECRET, redirectUri, 1);
    if (grant === undefined) throw new Error('the emulator gave no grant');
    // Without rotation (the default) one refresh token serves every request.
    const request = {
      url: `${url}/authentication/v1/oauth/token`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: grant.refreshToken,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      }).toString(),
      connections,
      duration: seconds,
    };
    await load({ ...request, duration: 1 });
    const rates: number[] = [];
    for (let i = 0; i < rounds; i++) rates.push((await load(request)).rate);
    const capacity = spread(rates);
    const rows = [spreadRow(BENCH, 'refresh_token grants answered per second', capacity)];
    if (asked !== undefined && asked > 0) {
      rows.push(
        valueRow(
          BENCH,
          `headroom: its capacity / the token rate the memory load asked (${asked.toFixed(0)}/s)`,
          capacity.median / asked,
          { target: { op: '>=', value: 2 } },
        ),
      );
    }
    return rows;
  } finally {
    await argus.stop();
  }
}
