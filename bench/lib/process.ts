/**
 * Child processes for the benchmarks. The server under load runs in its own process and
 * the load generator in another, so that on a small machine the two do not share one
 * thread (which would dilute every ratio towards 1). Calls go over Node's IPC channel.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A handler of a child process: any JSON in, any JSON (or a promise of it) out. */
// biome-ignore lint/suspicious/noExplicitAny: handlers take the JSON their caller sends
export type Handler = (...args: any[]) => unknown;

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

interface Reply {
  id: number;
  value?: unknown;
  error?: string;
}

/** A running child process and the way to call its handlers. */
export interface Remote {
  readonly pid: number | undefined;
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts `script` (a module that calls {@link serve}) in a new Node process with the
 * TypeScript loader and `--expose-gc`, and resolves once it is ready. `imports` are
 * modules loaded before it, after the loader (module hooks, say).
 */
export async function startProcess(script: URL, imports: readonly URL[] = []): Promise<Remote> {
  const child: ChildProcess = fork(fileURLToPath(script), [], {
    execArgv: [
      '--expose-gc',
      '--import',
      'tsx',
      ...imports.flatMap((url) => ['--import', url.href]),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let exited = false;
  const onExit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      for (const call of pending.values()) call.reject(new Error(`${script} exited (${code})`));
      pending.clear();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) =>
      reject(new Error(`${script} exited before it was ready (${code})`)),
    );
  });
  child.on('message', (message: Reply) => {
    const call = pending.get(message.id);
    if (call === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) call.reject(new Error(message.error));
    else call.resolve(message.value);
  });
  return {
    pid: child.pid,
    call<T>(method: string, ...args: unknown[]): Promise<T> {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, method, args } satisfies Call);
      });
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await onExit;
    },
  };
}

/**
 * The child side: answers calls with `handlers`, tells the parent it is ready, and exits
 * when the parent goes away (so no server outlives a crashed benchmark).
 */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', async (message: Call) => {
    const handler = handlers[message.method];
    let reply: Reply;
    try {
      if (handler === undefined) throw new Error(`no handler named ${message.method}`);
      reply = { id: message.id, value: await handler(...message.args) };
    } catch (error) {
      reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
    }
    process.send?.(reply);
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ ready: true });
}
