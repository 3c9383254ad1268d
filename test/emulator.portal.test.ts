import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArgusEmulator,
  DEMO_CLIENT,
  type EmulatorClient,
  startArgusEmulator,
} from '../lib/emulator/index.ts';

const REDIRECT = 'http://localhost:3000/oauth/callback';
const OTHER_CLIENT: EmulatorClient = {
  clientID: 'only-bob',
  clientSecret: 'only-bob-secret',
  redirectUris: ['https://app.example/cb?tenant=1'],
  permittedUsers: ['bob'],
};

let emulator: ArgusEmulator;

beforeAll(async () => {
  emulator = await startArgusEmulator({ clients: [DEMO_CLIENT, OTHER_CLIENT] });
});

beforeEach(() => emulator.reset());

afterAll(() => emulator.close());

function get(path: string, cookie?: string): Promise<Response> {
  return fetch(`${emulator.url}${path}`, {
    redirect: 'manual',
    headers: cookie === undefined ? {} : { cookie },
  });
}

function authorizePath(params: Record<string, string>): string {
  return `/spa/oauth/authorize?${new URLSearchParams(params)}`;
}

function demoAuthorize(extra: Record<string, string> = {}): string {
  return authorizePath({
    client_id: DEMO_CLIENT.clientID,
    redirect_uri: REDIRECT,
    response_type: 'code',
    ...extra,
  });
}

function postLogin(fields: Record<string, string>, cookie?: string): Promise<Response> {
  return fetch(`${emulator.url}/spa/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: cookie === undefined ? {} : { cookie },
    body: new URLSearchParams(fields),
  });
}

/** Logs in at the portal and returns the `name=value` of the portal cookie. */
async function portalCookie(userName = 'alice'): Promise<string> {
  const res = await postLogin({
    username: userName,
    password: `${userName}-password`,
    return: '/spa/',
  });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (cookie === undefined) throw new Error('no portal cookie');
  return cookie;
}

describe('authorize', () => {
  it('sends a browser that is not logged in to the login page and back', async () => {
    const path = demoAuthorize({ state: 's1' });
    const res = await get(path);
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    expect(location).toBe(`/spa/login?return=${encodeURIComponent(path)}`);
  });

  it('issues a code with the state to a logged-in user', async () => {
    const cookie = await portalCookie();
    const res = await get(demoAuthorize({ state: 'xyz 1/2' }), cookie);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('code')).toMatch(/^[0-9a-f-]{36}$/);
    expect(location.searchParams.get('state')).toBe('xyz 1/2');
  });

  it('remembers the portal login for later authorizations', async () => {
    const cookie = await portalCookie();
    const first = await get(demoAuthorize(), cookie);
    const second = await get(demoAuthorize(), cookie);
    const codes = [first, second].map((res) =>
      new URL(res.headers.get('location') ?? '').searchParams.get('code'),
    );
    expect(codes[0]).not.toBeNull();
    expect(codes[1]).not.toBe(codes[0]);
    expect(emulator.requestsTo('login')).toHaveLength(1);
  });

  it('appends the code to a redirect URI that has a query of its own', async () => {
    const cookie = await portalCookie('bob');
    const res = await get(
      authorizePath({
        client_id: OTHER_CLIENT.clientID,
        redirect_uri: 'https://app.example/cb?tenant=1',
        response_type: 'code',
      }),
      cookie,
    );
    expect(res.headers.get('location')).toMatch(
      /^https:\/\/app\.example\/cb\?tenant=1&code=[0-9a-f-]{36}$/,
    );
  });

  it.each([
    ['a prefix', 'http://localhost:3000/oauth'],
    ['a different port', 'http://localhost:3001/oauth/callback'],
    ['a trailing slash', 'http://localhost:3000/oauth/callback/'],
    ['a different case', 'http://localhost:3000/OAuth/callback'],
    ['an extra query', 'http://localhost:3000/oauth/callback?x=1'],
  ])(
    'refuses a redirect_uri that is %s of a registered one, with a page and no redirect',
    async (_name, uri) => {
      const cookie = await portalCookie();
      const res = await get(demoAuthorize({ redirect_uri: uri }), cookie);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('redirect_uri');
    },
  );

  it('refuses an unknown client with a page', async () => {
    const res = await get(demoAuthorize({ client_id: 'nobody' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('refuses a repeated parameter with a page', async () => {
    const res = await get(`${demoAuthorize()}&state=a&state=b`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('state appears more than once');
  });

  it('refuses a malformed percent escape with a page', async () => {
    const res = await get(`${demoAuthorize()}&state=%ZZ`);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('sends an unsupported response_type back to the client with the state', async () => {
    const res = await get(demoAuthorize({ response_type: 'token', state: 'st' }));
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('unsupported_response_type');
    expect(location.searchParams.get('state')).toBe('st');
  });

  it.each([
    ['a plain challenge', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }],
    ['a challenge without a method', { code_challenge: 'a'.repeat(43) }],
    ['a method without a challenge', { code_challenge_method: 'S256' }],
    ['a short challenge', { code_challenge: 'a'.repeat(42), code_challenge_method: 'S256' }],
    [
      'a challenge with bad characters',
      { code_challenge: `${'a'.repeat(42)}=`, code_challenge_method: 'S256' },
    ],
  ])('sends %s back to the client as invalid_request', async (_name, pkce) => {
    const res = await get(demoAuthorize({ ...pkce, state: 'p' }));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('p');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('treats an empty state as no state', async () => {
    const cookie = await portalCookie();
    const res = await get(demoAuthorize({ state: '' }), cookie);
    expect(res.headers.get('location')).toMatch(/\?code=[0-9a-f-]{36}$/);
  });

  it('ignores parameters it does not know', async () => {
    const cookie = await portalCookie();
    const res = await get(demoAuthorize({ prompt: 'login', nonce: 'n' }), cookie);
    expect(new URL(res.headers.get('location') ?? '').searchParams.has('code')).toBe(true);
  });

  it('refuses a user the client does not permit with a 403 page', async () => {
    const cookie = await portalCookie('alice');
    const res = await get(
      authorizePath({
        client_id: OTHER_CLIENT.clientID,
        redirect_uri: 'https://app.example/cb?tenant=1',
        response_type: 'code',
      }),
      cookie,
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('is not permitted to use the');
  });

  it('sends a user the client does not permit back with access_denied when so configured', async () => {
    emulator.configure({ deniedUser: 'redirect' });
    const cookie = await portalCookie('alice');
    const res = await get(
      authorizePath({
        client_id: OTHER_CLIENT.clientID,
        redirect_uri: 'https://app.example/cb?tenant=1',
        response_type: 'code',
        state: 'd',
      }),
      cookie,
    );
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('d');
    expect(location.searchParams.get('tenant')).toBe('1');
  });

  it('treats a forged portal cookie as not logged in', async () => {
    const res = await get(demoAuthorize(), 'argus_portal=forged');
    expect(res.headers.get('location')).toMatch(/^\/spa\/login\?return=/);
  });
});

describe('login page', () => {
  it('shows a login form that comes back to the authorize request', async () => {
    const returnTo = demoAuthorize({ state: 'q' });
    const res = await get(`/spa/login?return=${encodeURIComponent(returnTo)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>Argus (emulator) — Log in</title>');
    expect(html).toContain('<form method="post" action="/spa/login">');
    expect(html).toContain('name="username"');
    expect(html).toContain('name="password"');
    expect(html).toContain(`name="return" value="${returnTo.replaceAll('&', '&amp;')}"`);
  });

  it('escapes whatever comes in the return parameter', async () => {
    const res = await get(`/spa/login?return=${encodeURIComponent('"><script>alert(1)</script>')}`);
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
  });

  it('refuses a wrong password with the form again, the user name kept and escaped', async () => {
    const res = await postLogin({ username: 'alice<b>', password: 'nope', return: '/spa/' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    const html = await res.text();
    expect(html).toContain('Wrong username or password');
    expect(html).toContain('value="alice&lt;b&gt;"');
  });

  it('refuses a right password of another user', async () => {
    const res = await postLogin({ username: 'alice', password: 'bob-password' });
    expect(res.status).toBe(401);
  });

  it('logs in with the right password: a portal cookie and back to the authorize request', async () => {
    const returnTo = demoAuthorize({ state: 'r' });
    const res = await postLogin({
      username: 'alice',
      password: 'alice-password',
      return: returnTo,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(returnTo);
    expect(res.headers.get('set-cookie')).toMatch(
      /^argus_portal=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it.each([
    'https://evil.example/',
    '//evil.example/spa/oauth/authorize?',
    '/spa/oauth/authorize',
    '/spa/oauth/authorize?\r\nx: y',
  ])('goes to the portal start page after login instead of %j', async (returnTo) => {
    const res = await postLogin({
      username: 'alice',
      password: 'alice-password',
      return: returnTo,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/spa/');
  });

  it('refuses a login form that is not form-encoded', async () => {
    const res = await fetch(`${emulator.url}/spa/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":"alice","password":"alice-password"}',
    });
    expect(res.status).toBe(400);
  });

  it('completes the whole browser round trip: authorize, login, authorize, code', async () => {
    const first = await get(demoAuthorize({ state: 'round' }));
    const loginPage = first.headers.get('location') ?? '';
    const returnTo = new URL(loginPage, emulator.url).searchParams.get('return') ?? '';
    const login = await postLogin({ username: 'bob', password: 'bob-password', return: returnTo });
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    const back = await get(login.headers.get('location') ?? '', cookie);
    const callback = new URL(back.headers.get('location') ?? '');
    expect(callback.searchParams.get('state')).toBe('round');
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});

describe('portal pages', () => {
  it('shows who is logged in to the portal', async () => {
    const cookie = await portalCookie('bob');
    const html = await (await get('/spa/', cookie)).text();
    expect(html).toContain('logged in to Argus as <strong>Bob Berg</strong>');
    expect(html).toContain('action="/spa/logout"');
  });

  it('sends the site root to the portal', async () => {
    const res = await get('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/spa/');
  });

  it('logs out of the portal: cookie cleared, next authorize asks to log in again', async () => {
    const cookie = await portalCookie();
    const res = await fetch(`${emulator.url}/spa/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are logged out of Argus');
    expect(res.headers.get('set-cookie')).toMatch(/^argus_portal=; .*Max-Age=0/);
    const again = await get(demoAuthorize(), cookie);
    expect(again.headers.get('location')).toMatch(/^\/spa\/login\?/);
  });

  it('shows the logged-out page even without a portal cookie', async () => {
    const res = await get('/spa/logout');
    expect(res.status).toBe(200);
  });

  it('logoutUser() ends the portal login of that user in every browser', async () => {
    const one = await portalCookie('alice');
    const two = await portalCookie('alice');
    const bob = await portalCookie('bob');
    emulator.logoutUser('alice');
    for (const cookie of [one, two]) {
      expect((await get(demoAuthorize(), cookie)).headers.get('location')).toMatch(/^\/spa\/login/);
    }
    expect((await get(demoAuthorize(), bob)).headers.get('location')).toMatch(/code=/);
  });
});
