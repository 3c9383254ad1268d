/**
 * One app instance of the chaos run, in its own process (started by instances.ts): an
 * Express app as its users would build it, with connect-redis sessions over node-redis,
 * ArgusStrategy with RedisRefreshCoordinator, requireArgus() and argusLogout(). It tells
 * the driver over IPC when it is ready and which error answers it gave, and exits when
 * the driver goes away.
 */
import { createServer } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import session from 'express-session';
import { Passport } from 'passport';
import {
  ArgusStrategy,
  argusLogout,
  RedisRefreshCoordinator,
  type RefreshCoordinator,
  requireArgus,
} from 'passport-argus';
import { createClient, type RedisClientType } from 'redis';
import type { InstanceEnv, InstanceMessage } from './instance-messages.ts';
import { OutageAwareRedisStore, CachingRedisStore } from './session-store.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  REFRESH_WINDOW,
  SESSION_SECRET,
  STRATEGY_SLOW_CALL,
  STRATEGY_TIMEOUT,
} from './settings.ts';

const tell = (message: InstanceMessage) => process.send?.(message);

// A crash is what the run looks for: say so plainly on stderr, then die as Node would.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    process.stderr.write(
      `CHAOS_CRASH ${event}: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(70);
  });
}

const env = process.env as Partial<InstanceEnv>;
const port = Number(env.CHAOS_PORT);
const argusURL = env.CHAOS_ARGUS_URL ?? '';
const plant = env.CHAOS_PLANT ?? '';

// disableOfflineQueue: while Redis is down, commands fail at once instead of piling up.
const redis = createClient({
  url: env.CHAOS_REDIS_URL,
  disableOfflineQueue: true,
  socket: { reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 500) },
});
redis.on('error', () => undefined); // reconnects by itself; failed commands answer 503
await redis.connect();

function coordinator(): RefreshCoordinator | undefined {
  if (plant === 'no-coordinator') return undefined; // in-process single-flight only
  // short-lock: a lock that expires long before a slow refresh ends.
  return new RedisRefreshCoordinator(redis, plant === 'short-lock' ? { lockTtl: 100 } : {});
}

const callbackURL = `http://127.0.0.1:${port}/oauth/callback`;
const strategy = new ArgusStrategy({
  clientID: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  callbackURL,
  portalURL: argusURL,
  apiURL: argusURL,
  timeout: STRATEGY_TIMEOUT,
  // Below the timeout, as the default 3 s is below the default 10 s: Argus's slow spells
  // let requests go while their refreshes land late, the path most exposed to faults.
  // CHAOS_BREAKER_FAILURES compares another threshold under the same faults.
  breaker: {
    slowCall: STRATEGY_SLOW_CALL,
    ...(process.env.CHAOS_BREAKER_FAILURES === undefined
      ? {}
      : { failures: Number(process.env.CHAOS_BREAKER_FAILURES) }),
  },
  coordinator: coordinator(),
});
// The driver lines these up with the emulator's grant events to explain what it finds.
const nameOf = (user: unknown) => String((user as { username?: string })?.username ?? '');
strategy.events.on('refresh', ({ user }) =>
  tell({ type: 'session-event', event: 'refresh', user: nameOf(user), at: Date.now() }),
);
strategy.events.on('refresh-failed', ({ user, error }) =>
  tell({
    type: 'session-event',
    event: 'refresh-failed',
    user: nameOf(user),
    detail: error.code,
    at: Date.now(),
  }),
);
strategy.events.on('logout', ({ user, reason }) =>
  tell({
    type: 'session-event',
    event: 'logout',
    user: nameOf(user),
    detail: reason,
    at: Date.now(),
  }),
);

const passport = new Passport();
passport.use(strategy);
passport.serializeUser((user, done) => done(null, user));
passport.deserializeUser((user: Express.User, done) => done(null, user));

const app = express();
// The driver plays a proxy in front of the users: each user's address comes in X-Forwarded-For.
app.set('trust proxy', 'loopback');
app.use(
  session({
    secret: SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    store: new (plant === 'cached-store' ? CachingRedisStore : OutageAwareRedisStore)({
      client: redis as unknown as RedisClientType,
    }),
  }),
);
app.use(passport.session());

const userOf = (req: express.Request) =>
  (req.user as { username?: string } | undefined)?.username ?? null;

app.get('/', (req, res) => {
  res.json({ user: userOf(req) });
});
app.get('/login', passport.authenticate('argus'));
app.get(
  '/oauth/callback',
  passport.authenticate('argus', { successReturnToOrRedirect: '/', failureRedirect: '/failed' }),
);
app.get('/failed', (_req, res) => {
  res.status(401).json({ error: 'login_failed' });
});
app.post('/logout', argusLogout({ strategy }));
app.use('/app', requireArgus({ strategy, refreshWindow: REFRESH_WINDOW }));
// The plain protected route: no call to Argus.
app.get('/app/me', (req, res) => {
  res.json({ user: userOf(req), expiresAt: req.argus.expiresAt.getTime() });
});
// The API route: one call to Argus on the user's behalf.
app.get('/app/argus', async (req, res, next) => {
  try {
    const data = await req.argus.json<{ userName?: string }>('/currentuser/v1/user');
    res.json({ user: data?.userName ?? null, expiresAt: req.argus.expiresAt.getTime() });
  } catch (error) {
    next(error);
  }
});
// A refresh now, which the driver uses to catch an instance in the middle of one.
app.post('/app/refresh', async (req, res, next) => {
  try {
    await req.argus.refresh();
    res.json({ user: userOf(req), expiresAt: req.argus.expiresAt.getTime() });
  } catch (error) {
    next(error);
  }
});

const onError: ErrorRequestHandler = (error, _req, res, _next) => {
  const status =
    typeof error?.status === 'number' && error.status >= 400 && error.status <= 599
      ? error.status
      : 500;
  const code = String(error?.code ?? error?.name ?? 'internal');
  tell({ type: 'error', status, code, message: String(error?.message ?? '').split('\n')[0] ?? '' });
  // express-session saves at the end of a response; its error comes after the headers.
  if (res.headersSent) return;
  res.status(status).json({ error: status === 500 ? 'internal' : code });
};
app.use(onError);

const server = createServer(app);
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
tell({ type: 'ready' });

async function shutDown(): Promise<void> {
  server.closeAllConnections();
  server.close();
  await redis.quit().catch(() => redis.destroy());
  process.exit(0);
}
process.on('SIGTERM', () => void shutDown());
// The driver is gone (it crashed or was killed): no instance outlives it.
process.on('disconnect', () => process.exit(0));
