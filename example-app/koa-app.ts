/**
 * The example app in Koa: the same pages and routes as the Express one, with koa-passport,
 * koa-session (with an external store, as passport-argus requires) and @koa/router.
 * `createKoaExampleApp` builds it, so tests and the start script share it.
 */
import Router from '@koa/router';
import { MemoryStore } from 'express-session';
import Koa from 'koa';
import koaPassport from 'koa-passport';
import session from 'koa-session';
import { type ArgusProfile, ArgusStrategy, isArgusError } from 'passport-argus';
import { argusLogout, requireArgus } from 'passport-argus/koa';
import { type ExampleAppOptions, portalLogoutLink } from './app.ts';
import { accountPage, homePage, loggedOutPage } from './pages.ts';

/** The callback API that express-session stores share (MemoryStore, connect-redis, ...). */
interface CallbackStore {
  get(sid: string, callback: (error: unknown, record?: object | null) => void): void;
  set(sid: string, record: object, callback?: (error?: unknown) => void): void;
  destroy(sid: string, callback?: (error?: unknown) => void): void;
}

function settle<T>(
  run: (done: (error: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/**
 * koa-session's external store over an express-session store, so the Koa app keeps its
 * records wherever the Express one does (memory, or Redis through connect-redis). The
 * record travels with a `cookie.expires`, from which those stores derive its lifetime.
 */
export function koaSessionStore(store: CallbackStore) {
  return {
    async get(key: string): Promise<Record<string, unknown> | undefined> {
      const record = await settle<object | null>((done) => store.get(key, done));
      if (record == null) return undefined;
      const data: Record<string, unknown> = { ...record };
      delete data.cookie;
      return data;
    },
    async set(key: string, record: Record<string, unknown>, maxAge: number): Promise<void> {
      const expires = new Date(Date.now() + maxAge).toISOString();
      await settle((done) =>
        store.set(key, { ...record, cookie: { originalMaxAge: maxAge, expires } }, done),
      );
    },
    async destroy(key: string): Promise<void> {
      await settle((done) => store.destroy(key, done));
    },
  };
}

/** Builds the example Koa app and its strategy. */
export function createKoaExampleApp(options: ExampleAppOptions): {
  app: Koa;
  strategy: ArgusStrategy;
} {
  const app = new Koa();
  app.keys = [options.sessionSecret];
  const passport = new koaPassport.KoaPassport();
  const strategy = new ArgusStrategy(options.argus);
  passport.use(strategy);
  // The profile holds no token, so it can live in the session as is.
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      // Typed errors carry the status to answer; their messages hold no secret, but the
      // page shows only the code.
      ctx.status = isArgusError(error) ? error.status : 500;
      ctx.type = 'text';
      ctx.body = isArgusError(error) ? `Error: ${error.code}` : 'Internal error';
    }
  });
  app.use(
    session(
      {
        key: 'koa.sess',
        // The token set must stay on the server: koa-session keeps only the key in the cookie.
        store: koaSessionStore(options.store ?? new MemoryStore()),
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secureCookie === true,
      },
      app,
    ),
  );
  app.use(passport.initialize());
  app.use(passport.session());

  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage(ctx.state.user as ArgusProfile | undefined, ctx.query.login === 'failed');
  });
  router.get('/login', passport.authenticate('argus'));
  router.get(
    '/oauth/callback',
    passport.authenticate('argus', {
      successReturnToOrRedirect: '/app',
      failureRedirect: '/?login=failed',
    }),
  );
  // After the logout the user learns that the Argus portal still knows their browser.
  router.post('/logout', argusLogout({ strategy, redirectTo: '/logged-out' }));
  const portalLogout = portalLogoutLink(strategy.argusOptions.portalURL, options.portalLogoutPath);
  router.get('/logged-out', (ctx) => {
    // Someone logged in (again) would be told something untrue here.
    if (ctx.state.user) return ctx.redirect('/');
    ctx.type = 'html';
    ctx.body = loggedOutPage(portalLogout);
  });
  router.get('/app', requireArgus({ strategy }), async (ctx) => {
    const user = ctx.state.user as ArgusProfile;
    const apiAnswer = await ctx.state.argus.json('/currentuser/v1/user');
    ctx.type = 'html';
    ctx.body = accountPage({
      displayName: user.displayName,
      username: user.username,
      customer: user.customer?.name ?? user.customer?.shortName ?? '—',
      expiresAt: ctx.state.argus.expiresAt,
      now: new Date(),
      apiAnswer,
    });
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, strategy };
}
