import { afterEach, describe, expect, it } from 'vitest';
import { safeReturnTo } from 'passport-argus';
import { Browser } from './helpers/browser.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
afterEach(async () => {
  await app?.close();
});

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
