/**
 * `npm run screenshots`: the example app's home page, protected page and logged-out page,
 * as Chromium shows them, written to docs/ for the README. Runs the Express example against an emulator in
 * this process and logs in as the demo user alice, as a user would.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createExampleApp } from '../example-app/app.ts';
import { logInAtArgus } from '../test-e2e/helpers/argus-login.ts';
import { CHROMIUM_PATH, launchFreshBrowser } from '../test-e2e/helpers/chromium.ts';
import { startExample } from '../test-e2e/helpers/example-apps.ts';

const docs = fileURLToPath(new URL('../docs/', import.meta.url));

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install it with "apt-get install chromium".`);
  }
  await mkdir(docs, { recursive: true });
  const example = await startExample({
    name: 'express',
    listener: (options) => createExampleApp(options).app,
  });
  const browser = await launchFreshBrowser({ width: 1000, height: 400 });
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${example.url}/`);
    await page.screenshot({ path: `${docs}home.png`, fullPage: true });
    await page.getByRole('link', { name: 'Log in with Argus' }).click();
    await logInAtArgus(example, page, 'alice');
    await page.waitForURL(`${example.url}/app`);
    await page.screenshot({ path: `${docs}protected.png`, fullPage: true });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${example.url}/logged-out`);
    await page.screenshot({ path: `${docs}logged-out.png`, fullPage: true });
    console.log('Wrote docs/home.png, docs/protected.png and docs/logged-out.png');
  } finally {
    await browser.close();
    await example.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
