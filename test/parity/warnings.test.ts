import { ArgusWarningCode, WARNING_TYPE } from 'passport-argus';
import { afterEach, describe, expect, it } from 'vitest';
import { type CapturedWarning, captureWarnings, releaseWarnings } from '../helpers/warnings.ts';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
let warnings: CapturedWarning[] = [];
/** The warnings recorded (rather than printed) since the capture began, by type and code. */
const seen = () => warnings.map((warning) => `${warning.name} ${warning.code}`);

afterEach(async () => {
  releaseWarnings();
  await app?.close();
  app = undefined;
});

describe.each(FRAMEWORKS)('deployment warnings (%s)', (_name, start) => {
  it('warns once that trusting every proxy lets clients choose the IP forwarded to Argus', async () => {
    warnings = captureWarnings();
    app = await start({ trustEveryProxy: true });
    const { browser } = await app.login();
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    expect(seen()).toEqual([`${WARNING_TYPE} ${ArgusWarningCode.TRUST_PROXY}`]);
  });

  it('says nothing about a plain loopback setup', async () => {
    warnings = captureWarnings();
    app = await start();
    const { browser } = await app.login();
    await browser.request(`${app.url}/app/me`, { headers: { accept: 'application/json' } });
    expect(seen()).toEqual([]);
  });
});
