import { afterEach, describe, expect, it } from 'vitest';
import { Browser, inputValue } from './helpers/browser.ts';
import { type NestTestApp, startNestApp } from './helpers/nest-app.ts';

let app: NestTestApp;
afterEach(async () => {
  await app?.close();
});

/** Logs alice in through the Argus login form, as a user does. */
async function logIn(browser: Browser) {
  const form = await browser.follow(`${app.url}/login`);
  expect(form.url).toContain('/spa/login');
  return browser.follow(`${app.emulator.portalURL}/spa/login`, {
    form: {
      username: 'alice',
      password: 'alice-password',
      return: inputValue(form.body, 'return') ?? '',
    },
  });
}

async function me(browser: Browser) {
  return browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
}

describe('a NestJS app', () => {
  it('logs in through PassportStrategy(ArgusStrategy) and its validate, and requireArgus() guards a controller', async () => {
    app = await startNestApp('argus');
    const browser = new Browser();
    const anonymous = await me(browser);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toEqual({ error: 'login_required' });

    const landing = await logIn(browser);
    expect(landing.url).toBe(`${app.url}/`);
    expect(landing.body).toBe('home of alice');
    const answer = await me(browser);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body);
    expect(body.user).toEqual({
      id: expect.stringMatching(/^nest-/),
      username: 'alice',
      via: 'argus',
    });
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('sends a logged-out page request to the login and back to the page after it', async () => {
    app = await startNestApp('argus');
    const browser = new Browser();
    const start = await browser.request(`${app.url}/app/me`);
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toBe('/login');
    const landing = await logIn(browser);
    expect(landing.url).toBe(`${app.url}/app/me`);
    expect(JSON.parse(landing.body).user.username).toBe('alice');
  });

  it('gives a validate written for passport-oauth2 the token strings, through the callback arity', async () => {
    app = await startNestApp('oauth2');
    const browser = new Browser();
    const landing = await logIn(browser);
    expect(landing.body).toBe('home of alice');
    expect(JSON.parse((await me(browser)).body).user).toMatchObject({
      username: 'alice',
      via: 'oauth2',
    });
  });
});
