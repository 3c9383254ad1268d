/** The emulated Argus login form, filled in as a user would. */
import type { Page } from 'playwright-core';
import type { RunningExample } from './example-apps.ts';

/**
 * Logs in on the emulated Argus login form that `page` shows, as a user would: types the
 * user name and password and presses the button.
 */
export async function logInAtArgus(
  journey: RunningExample,
  page: Page,
  user: string,
  password = `${user}-password`,
): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${journey.portalURL}/spa/login`));
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}
