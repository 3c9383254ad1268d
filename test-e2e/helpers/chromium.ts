/**
 * The system's Chromium, driven by playwright-core. No browser is ever downloaded: the
 * journeys use the distribution's package (`apt-get install chromium`), or the binary that
 * `CHROMIUM_PATH` names.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** The Chromium binary the journeys run in. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser journeys can run here. Without Chromium, CI fails with a message
 * that names the fix; a developer machine skips them with a notice.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const fix =
    `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get install chromium" ` +
    '(or set CHROMIUM_PATH to a Chromium or Chrome binary)';
  if (process.env.CI === 'true') throw new Error(`Browser journeys cannot run: ${fix}.`);
  console.warn(`Skipping the browser journeys: ${fix}.`);
  return false;
}

/** A browser with a profile of its own, and the way to throw both away. */
export interface FreshBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium on a new, empty profile: no cookies, no cache, no history from
 * any earlier journey. The viewport defaults to 1280 × 720.
 */
export async function launchFreshBrowser(
  viewport = { width: 1280, height: 720 },
): Promise<FreshBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'passport-argus-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Under load on a small machine a journey step can take a while; a failure should still
  // be reported long before the test's own timeout.
  context.setDefaultTimeout(20_000);
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
