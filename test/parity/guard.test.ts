import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.ts';
import { FRAMEWORKS, type ScenarioApp } from './adapters.ts';

let app: ScenarioApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/**
 * A raw request, so the path and headers reach the server exactly as written (no client
 * normalisation, and no `Accept` unless one is given). GET with `Accept: text/html` unless
 * told otherwise.
 */
function rawGet(
  url: string,
  path: string,
  { method = 'GET', accept = 'text/html' }: { method?: string; accept?: string | null } = {},
) {
  const { hostname, port } = new URL(url);
  const headers = accept === null ? {} : { accept };
  return new Promise<{
    status: number;
    location?: string;
    cookie?: string[];
    type?: string;
    body: string;
  }>((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          cookie: res.headers['set-cookie'],
          type: res.headers['content-type'],
          body,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * How a logged-out request is answered for each `Accept` (null: none): a page request is
 * sent to the login, an API request gets 401 JSON. The framework's content negotiation
 * decides, and JSON wins a tie.
 */
const ACCEPT_TABLE: [method: string, accept: string | null, answer: 'page' | 'api'][] = [
  ['GET', 'application/json, text/html;q=0', 'api'],
  ['GET', 'text/html,application/xhtml+xml,*/*;q=0.8', 'page'],
  ['GET', 'text/html', 'page'],
  ['GET', 'text/*', 'page'],
  ['GET', 'text/html;q=0.5, application/json', 'api'],
  ['GET', 'application/json, text/html', 'api'],
  ['GET', 'text/html, application/json', 'page'],
  ['GET', '*/*', 'api'],
  ['GET', null, 'api'],
  ['GET', 'image/png', 'api'],
  ['HEAD', 'text/html', 'page'],
  ['POST', 'text/html', 'api'],
  ['DELETE', 'text/html,application/xhtml+xml,*/*;q=0.8', 'api'],
];

describe.each(FRAMEWORKS)('requireArgus for logged-out requests in %s', (_framework, start) => {
  it('answers an API request with 401 login_required JSON and no redirect', async () => {
    app = await start();
    const answer = await new Browser('application/json').request(`${app.url}/app/me`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({ error: 'login_required' });
    expect(answer.headers.get('location')).toBeNull();
  });

  it('tells a page request from an API request by content negotiation on Accept', async () => {
    app = await start();
    const answers: [string, string | null, string][] = [];
    for (const [method, accept] of ACCEPT_TABLE) {
      const answer = await rawGet(app.url, '/app/me', { method, accept });
      const page = answer.status === 302 && answer.location === '/login';
      const api =
        answer.status === 401 &&
        /^application\/json/.test(answer.type ?? '') &&
        (method === 'HEAD' || JSON.parse(answer.body).error === 'login_required');
      answers.push([method, accept, page ? 'page' : api ? 'api' : `${answer.status}`]);
    }
    expect(answers).toEqual(ACCEPT_TABLE);
  });

  it('answers a POST from a browser as an API request', async () => {
    app = await start();
    const answer = await new Browser().request(`${app.url}/app/me`, { method: 'POST', body: 'x' });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'login_required' });
  });

  it('sends a page request to the login and brings the user back to that page after it', async () => {
    app = await start();
    const browser = new Browser();
    const first = await browser.request(`${app.url}/app/page?tab=2&q=a%20b`);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/login');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const { landing } = await app.login(browser);
    expect(landing.url).toBe(`${app.url}/app/page?tab=2&q=a%20b`);
    expect(landing.body).toContain('protected page of alice');
    // The return path was used once: the next login lands on the default page.
    expect((await app.storedSession(app.sessionId(browser) ?? ''))?.returnTo).toBeUndefined();
  });

  it('keeps each tab’s return page with its own login', async () => {
    app = await start();
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

  it('never stores an open-redirect path as the return path', async () => {
    app = await start({ guardEverything: true });
    const control = await rawGet(app.url, '/app/page');
    expect(control.status).toBe(302);
    expect(control.cookie?.join()).toMatch(new RegExp(`^${app.cookieName.replace('.', '\\.')}=`));
    for (const path of [
      '//evil.example',
      '///evil.example',
      '/%2F%2Fevil.example',
      '/\\evil.example',
      '/%5Cevil.example',
    ]) {
      const answer = await rawGet(app.url, path);
      expect(answer.status).toBe(302);
      expect(answer.location).toBe('/login');
      // Nothing was stored: no session was even created.
      expect(answer.cookie).toBeUndefined();
    }
  });
});
