/**
 * Logging in with Argus in a real browser: the button, a deep link, two tabs at once, and
 * a user whom the app's Argus client does not permit.
 */
import { describe, expect, it } from 'vitest';
import { chromiumAvailable } from './helpers/chromium.ts';
import { EXAMPLE_APPS } from './helpers/example-apps.ts';
import { logInAtArgus } from './helpers/argus-login.ts';
import { useJourneys } from './helpers/journey.ts';

const apps = EXAMPLE_APPS;

describe.skipIf(!chromiumAvailable()).each(apps)('%s example app: logging in', (_name, app) => {
  const startJourney = useJourneys();

  it('logs in from the home page button and lands on the protected page with the name', async () => {
    const journey = await startJourney(app);
    const { page } = journey;
    await page.goto(`${journey.url}/`);
    await page.getByRole('link', { name: 'Log in with Argus' }).click();
    await logInAtArgus(journey, page, 'alice');
    await page.waitForURL(`${journey.url}/app`);
    expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
    expect(await page.getByTestId('username').textContent()).toBe('alice');
    expect(await page.getByTestId('api-answer').textContent()).toContain('"userName": "alice"');
    // The session cookie came back across the site boundary from Argus; scripts cannot
    // read it, and it holds no token.
    const token = journey.emulator.requestsTo('currentuser')[0]?.headers.authorization;
    expect(token).toMatch(/^Bearer \S{16,}/);
    const cookies = await journey.appCookies();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      expect(decodeURIComponent(cookie.value)).not.toContain(String(token).slice(7));
    }
  });

  it('comes back to the deep link it was opened with, after the Argus login', async () => {
    const journey = await startJourney(app);
    const { page } = journey;
    await page.goto(`${journey.url}/app?tab=2`);
    await logInAtArgus(journey, page, 'bob');
    await page.waitForURL(`${journey.url}/app?tab=2`);
    expect(await page.getByTestId('display-name').textContent()).toBe('Bob Berg');
  });

  it('logs in two tabs that both went to the login before either finished', async () => {
    const journey = await startJourney(app);
    const first = journey.page;
    const second = await journey.context.newPage();
    await first.goto(`${journey.url}/login`);
    await second.goto(`${journey.url}/login`);
    await logInAtArgus(journey, first, 'alice');
    await logInAtArgus(journey, second, 'alice');
    await first.waitForURL(`${journey.url}/app`);
    await second.waitForURL(`${journey.url}/app`);
    for (const page of [first, second]) {
      await page.reload();
      expect(await page.getByTestId('display-name').textContent()).toBe('Alice Anderson');
    }
    // The second tab's callback arrives after the first logged in: it lands logged in
    // without an exchange of its own (its login did not carry over), so one code is
    // exchanged, once.
    expect(
      journey.emulator
        .requestsTo('token')
        .filter((r) => r.form?.grant_type?.[0] === 'authorization_code'),
    ).toHaveLength(1);
  });

  it('shows a user the client does not permit a clear refusal at Argus, and no session', async () => {
    const journey = await startJourney(app, { permittedUsers: ['alice'] });
    const { page } = journey;
    await page.goto(`${journey.url}/`);
    await page.getByRole('link', { name: 'Log in with Argus' }).click();
    await logInAtArgus(journey, page, 'bob');
    await page.getByRole('heading', { level: 1, name: 'Access denied' }).waitFor();
    expect(await page.locator('main').textContent()).toMatch(/Bob Berg .* is not permitted/s);
    await page.goto(`${journey.url}/app`);
    await page.waitForURL((url) => url.href.startsWith(`${journey.portalURL}/`));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Access denied');
    await page.goto(`${journey.url}/`);
    expect(await page.locator('body').textContent()).not.toContain('Bob Berg');
    expect(journey.emulator.requestsTo('token')).toHaveLength(0);
  });

  it('tells a user the client does not permit that the login failed, when Argus sends them back', async () => {
    const journey = await startJourney(app, {
      permittedUsers: ['alice'],
      emulator: { deniedUser: 'redirect' },
    });
    const { page } = journey;
    await page.goto(`${journey.url}/`);
    await page.getByRole('link', { name: 'Log in with Argus' }).click();
    await logInAtArgus(journey, page, 'bob');
    await page.waitForURL(`${journey.url}/?login=failed`);
    expect(await page.getByRole('alert').textContent()).toContain(
      'The Argus login did not complete',
    );
    expect(await page.locator('body').textContent()).not.toContain('Bob Berg');
    expect(await page.getByRole('link', { name: 'Log in with Argus' }).count()).toBe(1);
  });
});
