/**
 * Memory: 100,000 requests over 10,000 sessions, some of whose tokens are inside the
 * refresh window on every request (the emulator's tokens live 30 s, the window is 60 s,
 * so each of their requests refreshes). The app runs in its own process; its heap is
 * read after forced GCs before the load (after a warm-up) and after it. The in-flight
 * registry must be empty again and the heap must not grow.
 */
import { load } from './lib/load.ts';
import { CLIENT_ID, CLIENT_SECRET } from './lib/apps.ts';
import type { Grant } from './lib/emulator-server.ts';
import type { MemoryStats } from './lib/memory-server.ts';
import { startProcess } from './lib/process.ts';
import { type Row, valueRow } from './lib/report.ts';

const BENCH = 'memory';
const MB = 2 ** 20;

/** Settings of the memory benchmark. */
export interface MemoryOptions {
  sessions?: number;
  /** Sessions whose tokens refresh on every request. */
  expiring?: number;
  requests?: number;
  warmup?: number;
  connections?: number;
}

/** What the memory benchmark measured, beside its rows: the refresh rate it asked of the emulator. */
export interface MemoryResult {
  rows: Row[];
  refreshesPerSecond: number;
}

/** A fixed pseudo-random sequence (mulberry32), so every run sends the same requests. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the benchmark. */
export async function memory(options: MemoryOptions = {}): Promise<MemoryResult> {
  const {
    sessions = 10_000,
    expiring = 1_000,
    requests = 100_000,
    warmup = 10_000,
    connections = 16,
  } = options;
  const argus = await startProcess(new URL('./lib/emulator-server.ts', import.meta.url));
  const app = await startProcess(new URL('./lib/memory-server.ts', import.meta.url));
  try {
    // The redirect URI is registered but never visited: grants are read from the redirect.
    const redirectUri = 'http://127.0.0.1/oauth/callback';
    const emulatorURL = await argus.call<string>('start', {
      tokenLifetime: 30_000,
      clients: [{ clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }],
    });
    const appURL = await app.call<string>('start', emulatorURL);
    const grants = await argus.call<Grant[]>(
      'grants',
      CLIENT_ID,
      CLIENT_SECRET,
      redirectUri,
      expiring,
    );
    const cookies = await app.call<string[]>('seed', sessions, grants);
    const next = random(42);
    const perRequestHeaders = () => ({
      cookie: cookies[Math.floor(next() * cookies.length)] as string,
    });
    const url = `${appURL}/app/me`;
    await load({ url, amount: warmup, connections, perRequestHeaders });
    const before = await app.call<MemoryStats>('stats');
    const run = await load({ url, amount: requests, connections, perRequestHeaders });
    let after = await app.call<MemoryStats>('stats');
    // Refreshes settle with their requests; give a straggler a moment, never long.
    for (let i = 0; i < 50 && after.inFlight > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await app.call<MemoryStats>('stats');
    }
    const refreshes = after.refreshes - before.refreshes;
    if (after.refreshFailures > 0) {
      throw new Error(`${after.refreshFailures} refreshes failed during the memory load`);
    }
    const load100k = `${requests.toLocaleString('en')} requests, ${sessions.toLocaleString('en')} sessions`;
    return {
      refreshesPerSecond: refreshes / run.seconds,
      rows: [
        valueRow(
          BENCH,
          `heap growth after ${load100k} (after forced GC)`,
          (after.heapUsed - before.heapUsed) / MB,
          {
            unit: 'MB',
            target: { op: '<', value: 20 },
          },
        ),
        valueRow(BENCH, 'refreshes in flight after the load', after.inFlight, {
          target: { op: '=', value: 0 },
        }),
        valueRow(
          BENCH,
          `successor records kept (10 min by design; ${expiring} refreshing sessions)`,
          after.successors,
          {
            target: { op: '<=', value: expiring },
          },
        ),
        valueRow(BENCH, 'refreshes during the load', refreshes),
        valueRow(
          BENCH,
          'heap before the load (after warm-up and forced GC)',
          before.heapUsed / MB,
          { unit: 'MB' },
        ),
        valueRow(BENCH, 'requests/s during the load (absolute, this machine)', run.rate),
      ],
    };
  } finally {
    await app.stop();
    await argus.stop();
  }
}
