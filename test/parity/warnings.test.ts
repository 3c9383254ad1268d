import { ArgusWarningCode } from 'passport-argus';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
const seen: string[] = [];
const onWarning = (warning: Error & { code?: string }) => {
  if (warning.name === 'PassportArgusWarning' && warning.code) seen.push(warning.code);
};

afterEach(async () => {
  process.off('warning', onWarning);
  seen.length = 0;
  await app?.close();
  app = undefined;
});

describe.each(FRAMEWORKS)('deployment warnings (%s)', (_name, start) => {
  it('warns once that trusting every proxy lets clients choose the IP forwarded to Argus', async () => {
    app = await start({ trustEveryProxy: true });
    const { browser } = await app.login();
    process.on('warning', onWarning);
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([ArgusWarningCode.TRUST_PROXY]);
  });

  it('says nothing about a plain loopback setup', async () => {
    app = await start();
    const { browser } = await app.login();
    process.on('warning', onWarning);
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
  });
});
