import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  await app?.close();
});

const api = { headers: { accept: 'application/json' } };

async function loggedIn(options: Parameters<typeof startTestApp>[0] = {}) {
  app = await startTestApp(options);
  const { browser } = await app.login();
  app.emulator.clearRequests();
  return browser;
}

// The shared scenarios of the session's life run against Express and Koa in test/parity.
describe('requireArgus keeps the Argus session alive', () => {
  it('logs the user out at the next refresh after they log out of the Argus portal', async () => {
    const browser = await loggedIn();
    await browser.request(`${app.emulator.portalURL}/spa/logout`, { method: 'POST' });
    advance(250_000);
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    const again = await browser.follow(`${app.url}/app/page`);
    expect(again.url).toContain('/spa/login');
  });

  it('logs out an expired session that has no refresh token', async () => {
    const browser = await loggedIn({ emulator: { issueRefreshTokens: false } });
    advance(200_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    advance(200_000);
    const answer = await browser.request(`${app.url}/app/me`, api);
    expect(JSON.parse(answer.body)).toEqual({ error: 'session_expired' });
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});
