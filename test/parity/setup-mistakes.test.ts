import { afterEach, describe, expect, it, vi } from 'vitest';
import { Browser } from '../helpers/browser.ts';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The message of the last error that reached the app's error handler. */
const lastError = (on: ScenarioApp) =>
  (on.errors.at(-1) as { code?: string; message?: string } | undefined) ?? {};

describe.each(FRAMEWORKS)('setup mistakes fail loudly in %s', (_name, start) => {
  it('names passport.session() when it is missing, after one code exchange and no loop', async () => {
    app = await start({ withoutPassportSession: true });
    const { browser } = await app.login();
    // The login worked; the first protected request says what is missing instead of
    // sending the user back to the login (and Argus) again and again.
    const page = await browser.request(`${app.url}/app/page`);
    expect(page.status).toBe(500);
    expect(lastError(app).code).toBe('ARGUS_MISCONFIGURED');
    expect(lastError(app).message).toMatch(/add passport\.session\(\)/);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('refuses a login over http with a secure session cookie, saying why', async () => {
    app = await start({ secureCookie: true });
    const login = await new Browser().request(`${app.url}/login`);
    expect(login.status).toBe(500);
    expect(lastError(app).code).toBe('ARGUS_MISCONFIGURED');
    expect(lastError(app).message).toMatch(/secure but this login request came over http/);
  });

  it('tells why a callback whose session cookie did not come back failed', async () => {
    app = await start();
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const login = await new Browser().request(`${app.url}/login`);
    const state = new URL(login.headers.get('location') ?? '').searchParams.get('state') ?? '';
    // The callback arrives from a browser that did not keep the login's cookie.
    const answer = await new Browser().request(`${app.url}/oauth/callback?code=x&state=${state}`);
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('/login-failed');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
    const said = warnings.mock.calls.map(([message]) => String(message));
    warnings.mockRestore();
    expect(said).toEqual([expect.stringMatching(/without the session cookie of its login/)]);
    expect(said[0]).toMatch(/secure cookie over http/);
  });
});
