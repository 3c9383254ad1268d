/**
 * The run's redis-server: on a free loopback port, with an append-only file fsynced on
 * every write in a temporary directory, so that a restart keeps every session. The run
 * restarts it (SIGTERM, then start again on the same port and directory) and pauses it
 * (SIGSTOP, then SIGCONT) as faults.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';

/** A redis-server that the run controls. */
export interface ChaosRedis {
  readonly url: string;
  /** The pid of the running server, for the last-resort cleanup; undefined when stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, and resolves once it exited (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP: the server holds its connections and answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

function binary(): string {
  try {
    const found = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
    if (found.trim() !== '') return found.trim();
  } catch {
    // Not found: the error below says what to do.
  }
  throw new Error(
    'redis-server is not installed; the chaos run needs it (apt-get install redis-server)',
  );
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

/**
 * Starts a persistent redis-server (with `persistent` false, one that keeps nothing over a
 * restart); throws a clear error when it is not installed.
 */
export async function startChaosRedis(persistent = true): Promise<ChaosRedis> {
  const bin = binary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'passport-argus-chaos-redis-'));
  let child: ChildProcess | undefined;
  let paused = false;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    persistent ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--daemonize',
    'no',
  ];

  const redis: ChaosRedis = {
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    async start() {
      child = spawn(bin, args, { stdio: 'ignore' });
      paused = false;
      for (let attempt = 0; attempt < 200; attempt++) {
        if (await answersPing(port)) return;
        if (child.exitCode !== null) break;
        await sleep(25);
      }
      throw new Error(`redis-server did not start on port ${port}`);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      // A stopped process handles SIGTERM only once it runs again.
      if (paused) running.kill('SIGCONT');
      paused = false;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    pause() {
      if (child?.exitCode !== null) return;
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      child?.kill('SIGCONT');
    },
    async dispose() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
