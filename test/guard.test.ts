import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { requireArgus, safeReturnTo } from 'passport-argus';
import { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

/** A raw GET, so the path reaches the server exactly as written (no client normalisation). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; location?: string; cookie?: string[] }>(
    (resolve, reject) => {
      const req = httpRequest({ host: hostname, port, path, method: 'GET', headers }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            cookie: res.headers['set-cookie'],
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const OPEN_REDIRECTS = [
  '//evil.example',
  '///evil.example',
  'https://evil.example',
  'http://app@evil.example',
  'javascript:alert(1)',
  '/%2F%2Fevil.example',
  '/%2f%2fevil.example',
  '/%252F%252Fevil.example',
  '/\\evil.example',
  '/%5Cevil.example',
  '\\\\evil.example',
  '/\t/evil.example',
  '/%09/evil.example',
  '/%0d%0aLocation:%20http://evil.example',
  ' //evil.example',
  '',
  '/a'.repeat(2000),
];

describe('requireArgus for logged-out requests', () => {
  it('answers an API request with 401 login_required JSON and no redirect', async () => {
    app = await startTestApp();
    const answer = await new Browser('application/json').request(`${app.url}/app/me`);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'login_required' });
    expect(answer.headers.get('location')).toBeNull();
  });

  it('answers a POST from a browser as an API request', async () => {
    app = await startTestApp();
    const answer = await new Browser().request(`${app.url}/app/me`, {
      method: 'POST',
      body: 'x=1',
    });
    expect(answer.status).toBe(401);
  });

  it('sends a page request to the login and brings the user back to that page after it', async () => {
    app = await startTestApp();
    const browser = new Browser();
    const first = await browser.request(`${app.url}/app/page?tab=2&q=a%20b`);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/login');
    const { landing } = await app.login(browser);
    expect(landing.url).toBe(`${app.url}/app/page?tab=2&q=a%20b`);
    expect(landing.body).toContain('protected page of alice');
  });

  it('keeps each tab’s return page with its own login', async () => {
    app = await startTestApp();
    const browser = new Browser();
    await app.login(browser);
    await browser.request(`${app.url}/logout`, { method: 'POST' });
    await browser.request(`${app.url}/app/page?tab=1`);
    const one = await browser.request(`${app.url}/login`);
    await browser.request(`${app.url}/app/page?tab=2`);
    const two = await browser.request(`${app.url}/login`);
    const cb1 =
      (await browser.request(one.headers.get('location') ?? '')).headers.get('location') ?? '';
    const cb2 =
      (await browser.request(two.headers.get('location') ?? '')).headers.get('location') ?? '';
    expect((await browser.follow(cb2)).url).toBe(`${app.url}/app/page?tab=2`);
    expect((await browser.follow(cb1)).url).toBe(`${app.url}/app/page?tab=1`);
  });

  it('lands on successReturnToOrRedirect when there is no page to return to', async () => {
    app = await startTestApp();
    const { landing } = await app.login();
    expect(landing.url).toBe(`${app.url}/`);
  });

  it.each(OPEN_REDIRECTS)('never lets the return path %j leave the site', (value) => {
    const safe = safeReturnTo(value);
    if (safe !== undefined) {
      expect(new URL(safe, 'https://app.example').origin).toBe('https://app.example');
      expect(safe.startsWith('/')).toBe(true);
      expect(safe.startsWith('//')).toBe(false);
      expect(safe).not.toMatch(/[\\\s]/);
      expect(decodeURIComponent(safe).startsWith('//')).toBe(false);
    }
  });

  it('stores no return path for raw open-redirect paths when the guard protects the whole site', async () => {
    app = await startTestApp({
      routes: (express, strategy) => {
        const guard = requireArgus({ strategy });
        // A guard in front of everything else: the request path itself becomes the return path.
        express.use((req, res, next) =>
          ['/', '/login', '/oauth/callback', '/login-failed', '/logout'].includes(req.path)
            ? next()
            : guard(req, res, next),
        );
      },
    });
    const control = await rawGet(app.url, '/app/page', { accept: 'text/html' });
    expect(control.status).toBe(302);
    expect(control.cookie?.[0]).toMatch(/^connect\.sid=/);
    for (const path of [
      '//evil.example',
      '///evil.example',
      '/%2F%2Fevil.example',
      '/\\evil.example',
      '/%5Cevil.example',
    ]) {
      const answer = await rawGet(app.url, path, { accept: 'text/html' });
      expect(answer.status).toBe(302);
      expect(answer.location).toBe('/login');
      // Nothing was stored: the session was not even created.
      expect(answer.cookie).toBeUndefined();
    }
  });

  it('drops a hostile returnTo that reached the session some other way', async () => {
    app = await startTestApp({
      routes: (express) => {
        express.get('/set-return', (req, res) => {
          (req.session as unknown as Record<string, unknown>).returnTo = String(req.query.to);
          res.end();
        });
      },
    });
    const browser = new Browser();
    await browser.request(`${app.url}/set-return?to=${encodeURIComponent('//evil.example')}`);
    const { landing } = await app.login(browser);
    expect(landing.url).toBe(`${app.url}/`);
  });

  it('keeps "no return path" apart from "/" (a root return path is honoured)', () => {
    expect(safeReturnTo(undefined)).toBeUndefined();
    expect(safeReturnTo('/')).toBe('/');
  });
});
