/**
 * One app instance in its own process, for the test that kills an instance while it holds
 * the refresh lock. It shares the Redis session store and the emulator with the tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { Passport } from 'passport';
import { ArgusStrategy, RedisRefreshCoordinator, requireArgus } from 'passport-argus';
import { createClient } from 'redis';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const redis = createClient({ url: env('REDIS_URL'), disableOfflineQueue: true });
redis.on('error', () => undefined);
await redis.connect();
const app = express();
const passport = new Passport();
const strategy = new ArgusStrategy({
  clientID: env('CLIENT_ID'),
  clientSecret: env('CLIENT_SECRET'),
  callbackURL: env('CALLBACK_URL'),
  portalURL: env('ARGUS_URL'),
  apiURL: env('ARGUS_URL'),
  timeout: Number(env('TIMEOUT')),
  coordinator: new RedisRefreshCoordinator(redis, { lockTtl: Number(env('LOCK_TTL')) }),
});
passport.use(strategy);
passport.serializeUser((user, done) => done(null, user));
passport.deserializeUser((user: Express.User, done) => done(null, user));
app.use(
  session({
    secret: env('SECRET'),
    resave: false,
    saveUninitialized: false,
    store: new RedisStore({ client: redis }),
  }),
);
app.use(passport.session());
app.use('/app', requireArgus({ strategy }));
app.post('/app/refresh', async (req, res, next) => {
  try {
    await req.argus.refresh();
    res.json({ ok: true });
  } catch (error) {
    next(error);
  }
});
const server = createServer(app);
server.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
