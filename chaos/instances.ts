/**
 * The app instances, seen from the driver: each one a Node process running
 * app-instance.ts through tsx on its own fixed loopback port. The driver kills and
 * restarts them as faults; any other exit, and any crash line on stderr, is a crash.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InstanceEnv, InstanceMessage, SessionEventMessage } from './instance-messages.ts';
import type { Plant } from './options.ts';

const SCRIPT = fileURLToPath(new URL('./app-instance.ts', import.meta.url));
const CRASH_LINE = /CHAOS_CRASH|Unhandled|uncaught/i;

/** One crash of an instance, for the report. */
export interface Crash {
  instance: number;
  what: string;
}

/** One app instance process. */
export class Instance {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly #fleet: Instances;
  #child: ChildProcess | undefined;
  #expectExit = false;
  #ready = false;
  /** This process has been counted as crashed (a crash line, then its exit, is one crash). */
  #crashed = false;

  constructor(index: number, port: number, fleet: Instances) {
    this.index = index;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.#fleet = fleet;
  }

  #crash(what: string): void {
    if (this.#crashed) return;
    this.#crashed = true;
    this.#fleet.recordCrash({ instance: this.index, what });
  }

  /** True while the process runs and listens. */
  get up(): boolean {
    return this.#ready && this.#child?.exitCode === null;
  }

  /** The pid, for the last-resort cleanup. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  /** Starts the process and resolves once it listens (rejects after 30 s or on exit). */
  async start(): Promise<void> {
    const env: InstanceEnv = {
      CHAOS_PORT: String(this.port),
      CHAOS_REDIS_URL: this.#fleet.redisURL,
      CHAOS_ARGUS_URL: this.#fleet.argusURL,
      CHAOS_PLANT: this.#fleet.plant ?? '',
    };
    const child = fork(SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#child = child;
    this.#expectExit = false;
    this.#ready = false;
    this.#crashed = false;
    this.#watchOutput(child);
    child.on('message', (message: InstanceMessage) => {
      if (message.type === 'error') this.#fleet.recordError(message);
      if (message.type === 'session-event') this.#fleet.sessionEvents.push(message);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app ${this.index} did not start`)), 30_000);
      child.on('message', (message: InstanceMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        this.#ready = true;
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`app ${this.index} exited while starting (${code ?? signal})`));
      });
    });
    child.once('exit', (code, signal) => {
      this.#ready = false;
      if (!this.#expectExit) {
        this.#crash(`exited (${code ?? signal})`);
        this.#fleet.onUnexpectedExit(this);
      }
    });
  }

  #watchOutput(child: ChildProcess): void {
    let pending = '';
    const onText = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (CRASH_LINE.test(line)) this.#crash(line);
        if (this.#fleet.verbose && line.trim() !== '') console.log(`  [app ${this.index}] ${line}`);
      }
    };
    child.stdout?.on('data', onText);
    child.stderr?.on('data', onText);
  }

  /** Ends the process with `signal` as the run's own doing; resolves once it exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.#expectExit = true;
    this.#ready = false;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The instances of one run, with what they reported. */
export class Instances {
  readonly list: Instance[];
  readonly crashes: Crash[] = [];
  /** Error answers by `status code`, such as `503 ARGUS_NETWORK`. */
  readonly errors = new Map<string, number>();
  /** The strategies' events (refreshes, failed refreshes, logouts), in arrival order. */
  readonly sessionEvents: SessionEventMessage[] = [];
  #stopping = false;

  constructor(
    ports: number[],
    readonly redisURL: string,
    readonly argusURL: string,
    readonly plant: Plant | undefined,
    readonly verbose: boolean,
  ) {
    this.list = ports.map((port, i) => new Instance(i + 1, port, this));
  }

  /** The instances that run now. */
  up(): Instance[] {
    return this.list.filter((instance) => instance.up);
  }

  /** The pids of every running instance, for the last-resort cleanup. */
  pids(): number[] {
    return this.list.flatMap((instance) => (instance.pid === undefined ? [] : [instance.pid]));
  }

  /** Starts every instance; resolves once all listen. */
  async startAll(): Promise<void> {
    await Promise.all(this.list.map((instance) => instance.start()));
  }

  /** Stops every instance (SIGTERM) at the end of the run; no exit then counts as a crash. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.list.map((instance) => instance.kill('SIGTERM')));
  }

  /** Counts an error answer an instance reported. */
  recordError(message: Extract<InstanceMessage, { type: 'error' }>): void {
    const key = `${message.status} ${message.code}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  /** Counts a crash (once per process, see Instance). */
  recordCrash(crash: Crash): void {
    this.crashes.push(crash);
  }

  /** A crashed instance comes back, so that the load goes on. */
  onUnexpectedExit(instance: Instance): void {
    if (this.#stopping) return;
    instance.start().catch((error: unknown) => {
      this.recordCrash({ instance: instance.index, what: `restart failed: ${String(error)}` });
    });
  }
}
