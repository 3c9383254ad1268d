/**
 * `ctx.state.argus` on Koa, as a handler sees it: there on every request `requireArgus()`
 * lets through (with a fresh token, and after a refresh the guard made first), the same
 * object on every read, absent from unguarded requests, and replaceable by the app.
 */
import type { Server } from 'node:http';
import { inspect } from 'node:util';
import Router from '@koa/router';
import session from 'koa-session';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArgusEmulator } from 'passport-argus/emulator';
import { memorySessionStore, requireArgus } from 'passport-argus/koa';
import { CLIENT_SECRET } from './helpers/app.ts';
import { startKoaArgus } from './helpers/koa-setup.ts';
import { Browser, inputValue } from './helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const api = { headers: { accept: 'application/json' } };

let server: Server;
let emulator: ArgusEmulator;
let url: string;
let browser: Browser;

beforeEach(async () => {
  useMovableTime();
  const started = await startKoaArgus();
  const { app, passport, strategy } = started;
  ({ server, emulator, url } = started);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));
  app.use(session({ store: memorySessionStore(), sameSite: 'lax' }, app));
  app.use(passport.initialize()).use(passport.session());

  const router = new Router();
  router.get('/login', passport.authenticate('argus'));
  router.get('/oauth/callback', passport.authenticate('argus', { successRedirect: '/' }));
  router.get('/', (ctx) => {
    ctx.body = 'home';
  });
  router.get('/open', (ctx) => {
    ctx.body = { argus: ctx.state.argus === undefined ? 'none' : 'some' };
  });
  const guard = requireArgus({ strategy });
  router.get('/app/twice', guard, (ctx) => {
    const first = ctx.state.argus;
    ctx.body = {
      same: first === ctx.state.argus,
      accessToken: first.accessToken.split('/')[0],
      expiresAt: first.expiresAt.toISOString(),
    };
  });
  router.get('/app/assign', guard, (ctx) => {
    const own = { accessToken: 'set by the app' };
    (ctx.state as { argus: unknown }).argus = own;
    ctx.body = { same: (ctx.state as { argus: unknown }).argus === own };
  });
  router.get('/app/state', guard, (ctx) => {
    // What an app that logs or dumps the whole state would show.
    const tokens = ctx.state.argus;
    ctx.body = {
      secrets: [CLIENT_SECRET, tokens.accessToken],
      json: JSON.stringify(ctx.state),
      inspected: inspect(ctx.state, { depth: 12, showHidden: true }),
    };
  });
  app.use(router.routes());
  server.on('request', app.callback());

  browser = new Browser();
  const form = await browser.follow(`${url}/login`);
  await browser.follow(`${emulator.portalURL}/spa/login`, {
    form: {
      username: 'alice',
      password: 'alice-password',
      return: inputValue(form.body, 'return') ?? '',
    },
  });
});
afterEach(async () => {
  restoreTime();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await emulator.close();
});

describe('ctx.state.argus on Koa', () => {
  it('is the Argus session of a request with a fresh token, the same object on every read', async () => {
    const answer = await browser.request(`${url}/app/twice`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      same: true,
      accessToken: 'alice',
      expiresAt: expect.any(String),
    });
    // The fresh path: no call to Argus beyond the login's code exchange.
    expect(emulator.requestsTo('token')).toHaveLength(1);
  });

  it('is there after a refresh the guard made first, and reads the new token', async () => {
    advance(400_000);
    const answer = await browser.request(`${url}/app/twice`, api);
    expect(JSON.parse(answer.body)).toMatchObject({ same: true, accessToken: 'alice' });
    expect(emulator.requestsTo('token')).toHaveLength(2);
  });

  it('is undefined on a request no guard saw, logged in or not', async () => {
    for (const who of [browser, new Browser()]) {
      expect(JSON.parse((await who.request(`${url}/open`, api)).body)).toEqual({
        argus: 'none',
      });
    }
  });

  it('shows neither the client secret nor a token when the app logs or serializes ctx.state whole', async () => {
    const answer = JSON.parse((await browser.request(`${url}/app/state`, api)).body) as {
      secrets: string[];
      json: string;
      inspected: string;
    };
    // koa-passport keeps passport's instance, strategies included, in ctx.state.
    expect(answer.json).toContain('"clientID"');
    expect(answer.inspected).toContain('ArgusStrategy');
    for (const secret of answer.secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(answer.json).not.toContain(secret);
      expect(answer.inspected).not.toContain(secret);
    }
  });

  it('can be set by the app', async () => {
    const answer = await browser.request(`${url}/app/assign`, api);
    expect(JSON.parse(answer.body)).toEqual({ same: true });
  });
});
