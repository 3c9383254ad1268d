/**
 * Staying logged in and leaving, in a real browser: past the token lifetime, after a
 * logout at the Argus portal, and after a logout from the app, Back button included, then
 * logging in again with and without the Argus portal login.
 */
import { describe, expect, it } from 'vitest';
import { advance, useMovableTime } from '../test/helpers/time.ts';
import { chromiumAvailable } from './helpers/chromium.ts';
import { EXAMPLE_APPS } from './helpers/example-apps.ts';
import { logInAtArgus } from './helpers/argus-login.ts';
import { type Journey, useJourneys } from './helpers/journey.ts';

const apps = EXAMPLE_APPS;

/** The refresh grants the emulator has received. */
function refreshes(journey: Journey) {
  return journey.emulator
    .requestsTo('token')
    .filter((r) => r.form?.grant_type?.[0] === 'refresh_token');
}

/** The token expiry the protected page shows, in ms since the epoch. */
async function shownExpiry(journey: Journey): Promise<number> {
  return Date.parse(
    (await journey.page.getByTestId('expires').locator('time').getAttribute('datetime')) ?? '',
  );
}

describe.skipIf(!chromiumAvailable()).each(apps)('%s example app: the session', (_name, app) => {
  const startJourney = useJourneys();

  async function loggedIn(user = 'alice'): Promise<Journey> {
    const journey = await startJourney(app);
    await journey.page.goto(`${journey.url}/app`);
    await logInAtArgus(journey, journey.page, user);
    await journey.page.waitForURL(`${journey.url}/app`);
    return journey;
  }

  it('keeps the protected page working past the token lifetime with exactly one refresh', async () => {
    useMovableTime();
    const journey = await loggedIn();
    const { page } = journey;
    const firstExpiry = await shownExpiry(journey);

    advance(301_000); // every token of the default 300 s lifetime has expired
    await page.reload();
    expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
    expect(await shownExpiry(journey)).toBeGreaterThan(firstExpiry);
    // Keep browsing: home, back into the app, a reload.
    await page.getByRole('link', { name: 'passport-argus demo' }).click();
    await page.getByRole('link', { name: 'Open your Argus page' }).click();
    await page.waitForURL(`${journey.url}/app`);
    await page.reload();
    expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
    expect(await page.getByTestId('api-answer').textContent()).toContain('"userName": "alice"');
    expect(refreshes(journey)).toHaveLength(1);
  });

  it('sends a user who logged out of the Argus portal back to the Argus login once the refresh is due', async () => {
    useMovableTime();
    const journey = await loggedIn();
    const { page } = journey;
    const oldSession = await journey.appCookies();
    expect(oldSession.length).toBeGreaterThan(0);

    await page.goto(`${journey.portalURL}/spa/logout`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'You are logged out of Argus',
    );
    advance(250_000); // within the 60 s refresh window of the 300 s token
    await page.goto(`${journey.url}/app`);
    await page.waitForURL((url) => url.href.startsWith(`${journey.portalURL}/spa/login`));
    expect(await page.locator('input[name="username"]').count()).toBe(1);
    expect(refreshes(journey)).toHaveLength(1);

    // The app's session is gone on the server, not only from the browser: the old
    // cookies, put back, open nothing.
    await page.goto(`${journey.url}/`);
    expect(await page.locator('body').textContent()).not.toContain('Alice Anderson');
    await journey.context.addCookies(oldSession);
    await page.goto(`${journey.url}/app`);
    await page.waitForURL((url) => url.href.startsWith(`${journey.portalURL}/spa/login`));
  });

  it('logs out from the app: the session cookie is gone and Back shows no private data', async () => {
    const journey = await loggedIn();
    const { page } = journey;
    const sessionCookies = (await journey.appCookies()).map((c) => c.name);
    expect(sessionCookies.length).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${journey.url}/logged-out`);
    expect(await page.getByRole('link', { name: 'Log in again' }).count()).toBe(1);
    const left = (await journey.appCookies()).map((c) => c.name);
    expect(left.filter((name) => sessionCookies.includes(name))).toEqual([]);

    // Also end the Argus portal login, as on a shared computer, so that nothing but a
    // stored copy of the page could show the name again.
    journey.emulator.logoutUser('alice');
    const before = journey.requests.filter((r) => r.startsWith('GET /app')).length;
    await page.goBack();
    await page.waitForLoadState('load');
    expect(await page.locator('body').textContent()).not.toContain('Alice Anderson');
    // The browser asked the app again rather than showing what it had kept.
    expect(journey.requests.filter((r) => r.startsWith('GET /app')).length).toBe(before + 1);
  });

  it('after a logout, "Log in again" passes the portal without a form, and "Also log out of Argus" brings the form back', async () => {
    const journey = await loggedIn();
    const { page } = journey;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${journey.url}/logged-out`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are logged out');
    expect(await page.locator('main').textContent()).toContain(
      'your browser is still logged in to the Argus portal, so the next login may not ask for your password',
    );

    // The emulator's portal cookie, which the app's logout does not touch, logs the browser
    // in at Argus: back on the protected page with no login form on the way.
    const formsShown = journey.emulator.requestsTo('login').length;
    await page.getByRole('link', { name: 'Log in again' }).click();
    await page.waitForURL(`${journey.url}/app`);
    expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
    expect(journey.emulator.requestsTo('login')).toHaveLength(formsShown);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Also log out of Argus' }).click();
    await page.waitForURL(`${journey.portalURL}/spa/logout`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'You are logged out of Argus',
    );

    await page.goto(`${journey.url}/`);
    await page.getByRole('link', { name: 'Log in with Argus' }).click();
    const username = page.locator('input[name="username"]');
    await username.waitFor({ state: 'visible' });
    expect(await username.isVisible()).toBe(true);
    await logInAtArgus(journey, page, 'alice');
    await page.waitForURL(`${journey.url}/app`);
    expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
  });
});
