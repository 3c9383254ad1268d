import { afterEach, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.ts';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe.each(FRAMEWORKS)('login with Argus in %s', (_framework, start) => {
  it('lands home with the token set in the new session and none in the user', async () => {
    app = await start();
    const { browser, landing } = await app.login();
    expect(landing.url).toBe(`${app.url}/`);
    expect(landing.body).toBe('home of alice');
    const stored = await app.storedSession(app.sessionId(browser) ?? '');
    const tokens = stored?.argus as { accessToken: string; refreshToken: string };
    expect(tokens.accessToken).toMatch(/^alice\//);
    const user = (stored?.passport as { user?: unknown } | undefined)?.user;
    expect(user).toMatchObject({ username: 'alice' });
    expect(JSON.stringify(user)).not.toContain(tokens.accessToken);
    for (const seen of browser.seen.filter((s) => s.url.startsWith(app?.url ?? '-'))) {
      const everything = seen.body + JSON.stringify([...seen.headers]);
      expect(everything).not.toContain(tokens.accessToken);
      expect(everything).not.toContain(tokens.refreshToken);
    }
  });

  it('gives a new session id at login, and the old id no longer resolves', async () => {
    app = await start();
    const browser = new Browser();
    await browser.request(`${app.url}/login`);
    const before = app.sessionId(browser);
    expect(before).toBeDefined();
    expect(await app.storedSession(before ?? '')).toBeDefined();
    await app.login(browser);
    const after = app.sessionId(browser);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await app.storedSession(before ?? '')).toBeUndefined();
    expect((await app.storedSession(after ?? ''))?.argus).toBeDefined();
  });

  it('logs in two tabs of one browser at once, callbacks in either order', async () => {
    app = await start();
    const browser = new Browser();
    await app.login(browser);
    await browser.request(`${app.url}/logout`, { method: 'POST' });
    const one = await browser.request(`${app.url}/login`);
    const two = await browser.request(`${app.url}/login`);
    // The portal remembers the user: each authorize request answers with a code at once.
    const callbackOne = (await browser.request(one.headers.get('location') ?? '')).headers;
    const callbackTwo = (await browser.request(two.headers.get('location') ?? '')).headers;
    const second = await browser.follow(callbackTwo.get('location') ?? '');
    expect(second.body).toBe('home of alice');
    const first = await browser.follow(callbackOne.get('location') ?? '');
    expect(first.body).toBe('home of alice');
    // The later callback lands without a code exchange: its login did not carry over.
    expect(app.emulator.requestsTo('token')).toHaveLength(2);
  });

  it('answers the callback with a body-less redirect, no-store and no-referrer, so no cache or page keeps the code', async () => {
    app = await start();
    const { browser } = await app.login();
    const callback = browser.seen.find((s) => s.url.startsWith(`${app?.url}/oauth/callback`));
    expect(callback?.status).toBe(302);
    expect(callback?.headers.get('location')).toBe('/');
    expect(callback?.body).toBe('');
    expect(callback?.headers.get('cache-control')).toBe('no-store');
    expect(callback?.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('sends a failed callback to the failure page without calling the token endpoint', async () => {
    app = await start();
    const browser = new Browser();
    await browser.request(`${app.url}/login`);
    const back = await browser.request(`${app.url}/oauth/callback?code=x&state=${'A'.repeat(43)}`);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/login-failed');
    expect(back.body).toBe('');
    expect(back.headers.get('cache-control')).toBe('no-store');
    expect(app.emulator.requestsTo('token')).toHaveLength(0);
  });
});
