import { afterEach, describe, expect, it } from 'vitest';
import type { ArgusEvents } from 'passport-argus';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe.each(FRAMEWORKS)('argusLogout in %s', (_framework, start) => {
  it('ends the Argus session, destroys the record, clears the cookie and redirects a form post', async () => {
    app = await start();
    const { browser } = await app.login();
    const logouts: ArgusEvents['logout'][0][] = [];
    app.strategy.events.on('logout', (event) => logouts.push(event));
    const sid = app.sessionId(browser) ?? '';
    const stored = (await app.storedSession(sid)) as { argus: { accessToken: string } };
    const answer = await browser.request(`${app.url}/logout`, { method: 'POST', form: {} });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(browser.cookie(app.url, app.cookieName)).toBeUndefined();
    expect(await app.storedSession(sid)).toBeUndefined();
    const ended = app.emulator.requestsTo('session-delete');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.headers.authorization).toBe(`Bearer ${stored.argus.accessToken}`);
    expect(app.emulator.activeGrants('alice')).toBe(0);
    expect(logouts).toEqual([
      {
        user: expect.objectContaining({ username: 'alice' }),
        reason: 'user',
        argusSession: 'ended',
        durationMs: expect.any(Number),
      },
    ]);
    const after = await browser.request(`${app.url}/app/me`, {
      headers: { accept: 'application/json' },
    });
    expect(after.status).toBe(401);
  });

  it('answers 204 to a logout whose Accept refuses HTML, though it names it', async () => {
    app = await start();
    const { browser } = await app.login();
    const answer = await browser.request(`${app.url}/logout`, {
      method: 'POST',
      headers: { accept: 'application/json, text/html;q=0' },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('location')).toBeNull();
  });

  it('answers 204 with no body to an API logout', async () => {
    app = await start();
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    const answer = await browser.request(`${app.url}/logout`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(answer.status).toBe(204);
    expect(answer.body).toBe('');
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(browser.cookie(app.url, app.cookieName)).toBeUndefined();
  });

  it('logs out locally within the timeout when Argus does not answer', async () => {
    app = await start({ strategy: { timeout: 300 } });
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    app.emulator.failNext('session-delete', { hang: true });
    const answer = await browser.request(`${app.url}/logout`, { method: 'POST' });
    expect(answer.status).toBe(303);
    expect(app.emulator.requestsTo('session-delete')).toHaveLength(1);
    expect(await app.storedSession(sid)).toBeUndefined();
    expect(browser.cookie(app.url, app.cookieName)).toBeUndefined();
  });

  it('refuses a GET logout, so a link on another site cannot log users out', async () => {
    app = await start();
    const { browser } = await app.login();
    const answer = await browser.request(`${app.url}/logout`);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
    expect(JSON.parse(answer.body)).toEqual({ error: 'method_not_allowed' });
    const me = await browser.request(`${app.url}/app/me`, {
      headers: { accept: 'application/json' },
    });
    expect(me.status).toBe(200);
  });

  it('starts the next login from a new session id', async () => {
    app = await start();
    const { browser } = await app.login();
    const sid = app.sessionId(browser) ?? '';
    await browser.request(`${app.url}/logout`, { method: 'POST' });
    // The portal remembers the user, so the login needs no form.
    expect((await browser.follow(`${app.url}/login`)).body).toBe('home of alice');
    expect(app.sessionId(browser)).not.toBe(sid);
    expect(await app.storedSession(sid)).toBeUndefined();
  });
});
