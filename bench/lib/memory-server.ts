/**
 * The server process of the memory benchmark: an ArgusStrategy app whose MemoryStore is
 * filled straight with session records (signed cookies as express-session makes them),
 * and which reports its heap after a forced GC and the size of its refresh registries.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { MemoryStore } from 'express-session';
import { type ArgusTokenSet, LocalRefreshCoordinator } from 'passport-argus';
import { argusApp, listen, SECRET } from './apps.ts';
import type { Grant } from './emulator-server.ts';
import { serve } from './process.ts';

const store = new MemoryStore();
let built: ReturnType<typeof argusApp> | undefined;
let refreshes = 0;
let refreshFailures = 0;

function strategy() {
  if (built === undefined) throw new Error('the app is not started');
  return built.strategy;
}

/** express-session's signed cookie: `s:` + id + `.` + HMAC-SHA256(id) in base64 without padding. */
function signedCookie(sid: string): string {
  const mac = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '');
  return `connect.sid=${encodeURIComponent(`s:${sid}.${mac}`)}`;
}

function put(sid: string, record: object): Promise<void> {
  return new Promise((resolve, reject) =>
    store.set(sid, record as never, (error) => (error ? reject(error) : resolve())),
  );
}

/** What the memory benchmark reads from this process. */
export interface MemoryStats {
  heapUsed: number;
  inFlight: number;
  successors: number;
  refreshes: number;
  refreshFailures: number;
  sessions: number;
}

serve({
  async start(emulatorURL: string): Promise<string> {
    const server = await listen();
    built = argusApp({ emulatorURL, callbackURL: server.callbackURL, store });
    built.strategy.events.on('refresh', () => refreshes++);
    built.strategy.events.on('refresh-failed', () => refreshFailures++);
    server.mount(built.app);
    return server.url;
  },
  /**
   * Writes `count` logged-in sessions: the first `expiring.length` carry the emulator's
   * grants (tokens inside the refresh window), the rest fresh tokens that need nothing.
   * Answers their cookies, in that order.
   */
  async seed(count: number, expiring: Grant[]): Promise<string[]> {
    const cookies: string[] = [];
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const sid = randomBytes(24).toString('base64url');
      const grant = expiring[i];
      const tokens: ArgusTokenSet = grant
        ? {
            accessToken: grant.accessToken,
            refreshToken: grant.refreshToken,
            tokenType: 'Bearer',
            expiresAt: now + grant.expiresIn * 1000,
            obtainedAt: now,
            loggedInAt: now,
          }
        : {
            accessToken: randomBytes(32).toString('base64url'),
            tokenType: 'Bearer',
            expiresAt: now + 3_600_000,
            obtainedAt: now,
            loggedInAt: now,
          };
      await put(sid, {
        cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
        passport: { user: { id: 1001 + (i % 3), userName: 'alice', name: 'Alice Andersen' } },
        argus: tokens,
      });
      cookies.push(signedCookie(sid));
    }
    return cookies;
  },
  /** Heap after two forced GCs, and the registries. */
  async stats(): Promise<MemoryStats> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error('run with --expose-gc');
    gc();
    gc();
    const { engine } = strategy();
    const { coordinator } = engine;
    const sessions = await new Promise<number>((resolve) =>
      store.length((_error, length) => resolve(length ?? 0)),
    );
    return {
      heapUsed: process.memoryUsage().heapUsed,
      inFlight: engine.inFlight,
      successors: coordinator instanceof LocalRefreshCoordinator ? coordinator.size : -1,
      refreshes,
      refreshFailures,
      sessions,
    };
  },
});
