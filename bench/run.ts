/**
 * `npm run bench`: every benchmark in turn, the table on stdout and the figures in
 * bench/results.json. `npm run bench -- guard storm` runs only those named (guard, storm,
 * login, memory, emulator, outage) and leaves results.json alone.
 */
import { writeFile } from 'node:fs/promises';
import { emulatorThroughput } from './emulator.ts';
import { guardOverhead } from './guard-overhead.ts';
import { machine, type Row, table } from './lib/report.ts';
import { loginThroughput } from './login-throughput.ts';
import { memory } from './memory.ts';
import { outage } from './outage.ts';
import { refreshStorm } from './refresh-storm.ts';

const ALL = ['guard', 'storm', 'login', 'memory', 'emulator', 'outage'] as const;
type Name = (typeof ALL)[number];

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(ALL as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
const chosen: Name[] = asked.length === 0 ? [...ALL] : (asked as Name[]);
if ((globalThis as { gc?: unknown }).gc === undefined) {
  console.warn('note: run with --expose-gc (npm run bench does) for steadier figures');
}

// The settings of this run, written beside the figures.
const settings = {
  guard: { rounds: 5, seconds: 1, profileRounds: 5, connections: 10 },
  storm: { rounds: 5, concurrency: 200 },
  login: { rounds: 5, logins: 100, concurrency: 8, cpuTurns: 10, cpuChunk: 20 },
  memory: { sessions: 10_000, expiring: 1_000, requests: 100_000, warmup: 10_000, connections: 16 },
  emulator: { rounds: 3, seconds: 1.5, connections: 10 },
  outage: {
    sessions: 1000,
    outage: 60_000,
    probeInterval: 5000,
    every: 10_000,
    connections: 2,
    hangSample: 100,
  },
};

const started = performance.now();
const rows: Row[] = [];
let tokenRate: number | undefined;
const step = async (name: Name, run: () => Promise<Row[]>) => {
  if (!chosen.includes(name)) return;
  const t0 = performance.now();
  process.stderr.write(`${name}… `);
  rows.push(...(await run()));
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
};

await step('guard', () => guardOverhead(settings.guard));
await step('storm', () => refreshStorm(settings.storm));
await step('login', () => loginThroughput(settings.login));
await step('memory', async () => {
  const result = await memory(settings.memory);
  tokenRate = result.refreshesPerSecond;
  return result.rows;
});
await step('emulator', () => emulatorThroughput({ ...settings.emulator, asked: tokenRate }));
await step('outage', () => outage(settings.outage));

const seconds = (performance.now() - started) / 1000;
const missed = rows.filter((row) => row.met === false);
console.log(table(rows));
console.log(
  `\n${rows.filter((r) => r.met).length} of ${rows.filter((r) => r.target).length} targets met; ${seconds.toFixed(0)} s on ${String(machine().cpu)}, ${String(machine().cores)} cores, Node ${process.version}`,
);
if (asked.length === 0) {
  const results = {
    date: new Date().toISOString(),
    machine: machine(),
    seconds: Math.round(seconds),
    settings,
    rows,
  };
  await writeFile(
    new URL('./results.json', import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log('written: bench/results.json');
}
// A missed target is a finding to read, not a crash: the run still ends normally.
for (const row of missed) console.log(`missed: ${row.bench}: ${row.figure}`);
