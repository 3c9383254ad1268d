/**
 * Tools for the security tests: raw HTTP requests that reach the server exactly as written
 * (no client normalises the path, the query or the Host header), a collector of unhandled
 * rejections, and a way to stop a login at the callback.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { type Browser, inputValue } from './browser.ts';
import type { TestApp } from './app.ts';

/** A raw answer. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends `path` (raw, not normalised) to the server at `origin`. */
export function rawRequest(
  origin: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers,
        // Header and query values far past Node's defaults must still reach the server.
        maxHeaderSize: 1024 * 1024,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The `Cookie` header a browser would send to `url`. */
export function cookieHeader(browser: Browser, url: string): Record<string, string> {
  const jar = browser.cookies(url);
  return jar.size === 0 ? {} : { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
}

/**
 * Collects unhandled promise rejections for the whole test file; the returned array must
 * stay empty.
 */
export function collectUnhandledRejections(): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
  });
  return seen;
}

/**
 * Starts a login in `browser` and goes through the Argus login form (or the portal
 * session it already has), stopping before the callback: returns the callback URL that
 * Argus redirected to, with its real `code` and `state`.
 */
export async function callbackFor(app: TestApp, browser: Browser, user = 'alice'): Promise<URL> {
  const start = await browser.request(`${app.url}/login`);
  let authorize = await browser.request(start.headers.get('location') ?? '');
  const next = (from: { headers: Headers; url: string }) =>
    new URL(from.headers.get('location') ?? '', from.url).href;
  if (authorize.headers.get('location')?.includes('/spa/login')) {
    // Not logged in to the portal yet: Argus shows its login form first.
    const form = await browser.request(next(authorize));
    const posted = await browser.request(`${app.emulator.portalURL}/spa/login`, {
      form: {
        username: user,
        password: `${user}-password`,
        return: inputValue(form.body, 'return') ?? '',
      },
    });
    authorize = await browser.request(next(posted));
  }
  const location = authorize.headers.get('location') ?? '';
  if (!location.startsWith(app.callbackURL)) {
    throw new Error(`expected a redirect to the callback, got ${authorize.status} ${location}`);
  }
  return new URL(location);
}

/** The `state` of a login started in `browser`, without going to Argus. */
export async function startLogin(app: TestApp, browser: Browser): Promise<string> {
  const start = await browser.request(`${app.url}/login`);
  const state = new URL(start.headers.get('location') ?? '').searchParams.get('state');
  if (state === null) throw new Error('the login redirect has no state');
  return state;
}

/** The path and query of a URL, as a raw request line would carry them. */
export function pathOf(url: URL): string {
  return url.pathname + url.search;
}
