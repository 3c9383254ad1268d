import { afterEach, describe, expect, it } from 'vitest';
import type { ArgusEvents } from 'passport-argus';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

describe('argusLogout', () => {
  it('ends the Argus session, destroys the session record, clears the cookie and redirects', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    const logouts: ArgusEvents['logout'][0][] = [];
    app.strategy.events.on('logout', (event) => logouts.push(event));
    const sid = app.sessionId(browser) ?? '';
    const stored = (await app.storedSession(sid)) as { argus: { accessToken: string } };
    const token = stored.argus.accessToken;
    const answer = await browser.request(`${app.url}/logout`, { method: 'POST', form: {} });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/');
    expect(browser.cookie(app.url, 'connect.sid')).toBeUndefined();
    expect(await app.storedSession(sid)).toBeUndefined();
    const ended = app.emulator.requestsTo('session-delete');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.headers.authorization).toBe(`Bearer ${token}`);
    expect(logouts).toEqual([
      {
        user: expect.objectContaining({ username: 'alice' }),
        reason: 'user',
        argusSession: 'ended',
        durationMs: expect.any(Number),
      },
    ]);
    expect(app.emulator.activeGrants('alice')).toBe(0);
    const after = await browser.request(`${app.url}/app/me`, {
      headers: { accept: 'application/json' },
    });
    expect(after.status).toBe(401);
  });

  it('logs out locally when Argus is down', async () => {
    app = await startTestApp();
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    app.emulator.failNext('session-delete', { status: 503, body: 'down' });
    expect((await browser.request(`${app.url}/logout`, { method: 'POST' })).status).toBe(303);
    expect(await app.storedSession(sid)).toBeUndefined();
  });

  it('accepts GET when allowGet is set, and redirects to a chosen same-origin page', async () => {
    const { argusLogout } = await import('passport-argus');
    app = await startTestApp({
      routes: (express, strategy) => {
        express.get('/bye', argusLogout({ strategy, allowGet: true, redirectTo: '/goodbye' }));
      },
    });
    const { browser } = await app.login();
    const answer = await browser.request(`${app.url}/bye`);
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/goodbye');
    expect(browser.cookie(app.url, 'connect.sid')).toBeUndefined();
  });
});
