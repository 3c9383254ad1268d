import type { Server } from 'node:http';
import type Koa from 'koa';
import session from 'koa-session';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArgusEmulator } from 'passport-argus/emulator';
import { argusLogout, requireArgus } from 'passport-argus/koa';
import { Browser } from './helpers/browser.ts';
import { startKoaArgus } from './helpers/koa-setup.ts';

let server: Server | undefined;
let emulator: ArgusEmulator | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await emulator?.close();
  server = undefined;
  emulator = undefined;
});

/** A Koa app whose session middleware is chosen by the test. */
async function startKoa(useSession: (app: Koa) => void, withPassport = true) {
  const started = await startKoaArgus();
  const { app, url, strategy, passport } = started;
  ({ server, emulator } = started);
  const errors: { code?: string; message?: string }[] = [];
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      errors.push(error as { code?: string; message?: string });
      ctx.status = 500;
      ctx.body = 'failed';
    }
  });
  useSession(app);
  if (withPassport) app.use(passport.initialize()).use(passport.session());
  const guard = requireArgus({ strategy });
  const logout = argusLogout({ strategy });
  app.use((ctx, next) => {
    if (ctx.path === '/login') return passport.authenticate('argus')(ctx, next);
    if (ctx.path === '/logout') return logout(ctx, next);
    return guard(ctx, next);
  });
  server.on('request', app.callback());
  return { url, errors };
}

describe('passport-argus/koa and koa-session', () => {
  it('refuses a cookie-only koa-session at login, before anything reaches the cookie', async () => {
    const { url, errors } = await startKoa((app) => app.use(session(app)));
    const answer = await new Browser().request(`${url}/login`);
    expect(answer.status).toBe(500);
    expect(answer.headers.get('location')).toBeNull();
    expect(answer.headers.get('set-cookie')).toBeNull();
    expect(errors[0]?.code).toBe('ARGUS_MISCONFIGURED');
    expect(errors[0]?.message).toContain('koa-session with an external store');
    expect(emulator?.requests).toHaveLength(0);
  });

  it('refuses a cookie-only koa-session in requireArgus and argusLogout', async () => {
    const { url, errors } = await startKoa((app) => app.use(session(app)));
    const browser = new Browser();
    expect((await browser.request(`${url}/app`)).status).toBe(500);
    expect((await browser.request(`${url}/logout`, { method: 'POST' })).status).toBe(500);
    expect(errors.map((e) => e.code)).toEqual(['ARGUS_MISCONFIGURED', 'ARGUS_MISCONFIGURED']);
  });

  it('names the missing session middleware when there is none', async () => {
    // Without passport's own session middleware, which would complain first.
    const { url, errors } = await startKoa(() => undefined, false);
    expect((await new Browser().request(`${url}/app`)).status).toBe(500);
    expect(errors[0]?.code).toBe('ARGUS_SESSION_REQUIRED');
    expect(errors[0]?.message).toContain('koa-session');
  });
});
