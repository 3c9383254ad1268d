/**
 * One browser journey: a fresh Chromium profile, a fresh example app and emulator, and on
 * failure a screenshot of every open tab under `test-e2e/artifacts/`, named in the test
 * report.
 */
import { mkdir } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Cookie, Page } from 'playwright-core';
import { afterEach, type TestContext } from 'vitest';
import { restoreTime } from '../../test/helpers/time.ts';
import { type FreshBrowser, launchFreshBrowser } from './chromium.ts';
import {
  type ExampleApp,
  type RunningExample,
  type StartExampleOptions,
  startExample,
} from './example-apps.ts';

/** Where failure screenshots go (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** A journey under way: the app and its emulator, and a browser with one open tab. */
export interface Journey extends RunningExample {
  context: BrowserContext;
  page: Page;
  /** The cookies the browser holds for the app (not those of the Argus portal). */
  appCookies(): Promise<Cookie[]>;
}

/**
 * Registers the clean-up of each test's journey and returns the function that starts one.
 * Call it once at the top of a `describe`.
 */
export function useJourneys(): (
  app: ExampleApp,
  options?: StartExampleOptions,
) => Promise<Journey> {
  let running: { browser: FreshBrowser; example: RunningExample } | undefined;

  afterEach(async (context) => {
    restoreTime();
    const current = running;
    running = undefined;
    if (current === undefined) return;
    try {
      if (context.task.result?.state === 'fail') {
        await saveScreenshots(context, current.browser.context.pages());
      }
    } finally {
      await current.browser.close();
      await current.example.close();
    }
  });

  return async (app, options) => {
    const example = await startExample(app, options);
    let browser: FreshBrowser;
    try {
      browser = await launchFreshBrowser();
    } catch (error) {
      await example.close();
      throw error;
    }
    running = { browser, example };
    const { context } = browser;
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      ...example,
      context,
      page,
      appCookies: () => context.cookies(example.url),
    };
  };
}

async function saveScreenshots(context: TestContext, pages: Page[]): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const base = (context.task.fullTestName ?? context.task.name)
    .replace(/[^\w.-]+/g, '-')
    .slice(0, 150);
  for (const [index, page] of pages.entries()) {
    const path = `${ARTIFACTS}${base}${index === 0 ? '' : `-tab-${index + 1}`}.png`;
    try {
      await page.screenshot({ path, fullPage: true, timeout: 5_000 });
      // Printed under the failed test in the report (vitest no longer takes annotations
      // once a test has failed).
      console.warn(`Screenshot of ${page.url()}: ${relative(process.cwd(), path)}`);
    } catch (error) {
      // A tab that cannot be captured must not hide the failure that is being reported.
      console.warn(`No screenshot of ${page.url()}: ${String(error)}`);
    }
  }
}
