/**
 * `req.argus` on Express, which `requireArgus()` lets the app build on its first read: it
 * is there on every request the guard lets through, the same object on every read, gone
 * from unguarded requests, and leaves no trace in the session record or its log lines.
 */
import { inspect } from 'node:util';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireArgus } from 'passport-argus';
import { CLIENT_SECRET, startTestApp, type TestApp } from './helpers/app.ts';
import type { Browser } from './helpers/browser.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const api = { headers: { accept: 'application/json' } };

let app: TestApp;
let browser: Browser;

beforeEach(async () => {
  useMovableTime();
  app = await startTestApp({
    routes: (router) => {
      router.get('/open', (req, res) => {
        res.json({ argus: req.argus === undefined ? 'none' : 'some' });
      });
    },
    protectedRoutes: (router) => {
      router.get('/app/twice', (req, res) => {
        const first = req.argus;
        res.json({
          same: first === req.argus,
          accessToken: first.accessToken.split('/')[0],
          expiresAt: first.expiresAt.toISOString(),
          methods: ['fetch', 'json', 'refresh', 'ensureFresh', 'logout'].filter(
            (name) => typeof (first as unknown as Record<string, unknown>)[name] === 'function',
          ),
        });
      });
      router.post('/app/refresh-then-read', async (req, res, next) => {
        try {
          const before = req.argus.accessToken;
          await req.argus.refresh();
          res.json({ changed: before !== req.argus.accessToken });
        } catch (error) {
          next(error);
        }
      });
      router.post('/app/logout-then-read', async (req, res, next) => {
        try {
          const context = req.argus;
          await context.logout();
          let code: unknown;
          try {
            void req.argus.accessToken;
          } catch (error) {
            code = (error as { code?: unknown }).code;
          }
          res.json({ same: context === req.argus, code });
        } catch (error) {
          next(error);
        }
      });
      router.get('/app/logged', (req, res) => {
        req.argus.expiresAt;
        res.json({
          locals: inspect(res.locals, { depth: 6 }),
          session: inspect(req.session, { depth: 6 }),
          json: JSON.stringify(req.session),
        });
      });
      router.get('/app/assign', (req, res) => {
        const own = { accessToken: 'set by the app' };
        (req as unknown as { argus: unknown }).argus = own;
        res.json({ same: (req as unknown as { argus: unknown }).argus === own });
      });
    },
  });
  ({ browser } = await app.login());
});
afterEach(async () => {
  restoreTime();
  await app.close();
});

describe('req.argus on Express', () => {
  it('is the Argus session of a request the guard lets through, the same object on every read', async () => {
    const answer = await browser.request(`${app.url}/app/twice`, api);
    expect(JSON.parse(answer.body)).toEqual({
      same: true,
      accessToken: 'alice',
      expiresAt: expect.any(String),
      methods: ['fetch', 'json', 'refresh', 'ensureFresh', 'logout'],
    });
  });

  it('is undefined on a request no guard saw, logged in or not', async () => {
    expect(JSON.parse((await browser.request(`${app.url}/open`, api)).body)).toEqual({
      argus: 'none',
    });
  });

  it('is there after a refresh the guard made first, and reads the new token', async () => {
    advance(400_000);
    const answer = await browser.request(`${app.url}/app/twice`, api);
    expect(JSON.parse(answer.body)).toMatchObject({ same: true, accessToken: 'alice' });
    expect(app.emulator.requestsTo('token')).toHaveLength(2);
  });

  it('reads the new token after req.argus.refresh()', async () => {
    const answer = await browser.request(`${app.url}/app/refresh-then-read`, {
      method: 'POST',
      ...api,
    });
    expect(JSON.parse(answer.body)).toEqual({ changed: true });
  });

  it('stays the same object after req.argus.logout(), which has ended its session', async () => {
    const answer = await browser.request(`${app.url}/app/logout-then-read`, {
      method: 'POST',
      ...api,
    });
    expect(JSON.parse(answer.body)).toEqual({ same: true, code: 'ARGUS_LOGIN_REQUIRED' });
  });

  it('leaves nothing of the guard in the session record, and nothing secret in log lines', async () => {
    const answer = JSON.parse((await browser.request(`${app.url}/app/logged`, api)).body);
    expect(answer.json).not.toMatch(/requireArgus|engine|settings/);
    expect(answer.session).not.toMatch(/requireArgus|RefreshEngine/);
    for (const logged of [answer.locals, answer.session]) {
      expect(logged).not.toContain(CLIENT_SECRET);
      expect(logged).not.toMatch(/RefreshEngine|refreshWindow/);
    }
  });

  it('can be set by the app', async () => {
    const answer = await browser.request(`${app.url}/app/assign`, api);
    expect(JSON.parse(answer.body)).toEqual({ same: true });
  });

  it('is the context of the guard that let the request through, in a mounted app too', async () => {
    const inner = express();
    inner.get('/expiry', (req, res) => {
      res.json({ expiresAt: req.argus.expiresAt.toISOString() });
    });
    app.app.use('/mounted', requireArgus({ strategy: app.strategy }), inner);
    const answer = await browser.request(`${app.url}/mounted/expiry`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).expiresAt).toEqual(expect.any(String));
  });
});
