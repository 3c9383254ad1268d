/**
 * One user's browser: a cookie jar for 127.0.0.1 (cookies are per host, not per port, so
 * the session cookie goes to every instance, as behind a load balancer), the user's own
 * address in X-Forwarded-For, no redirect followed by itself, and a time limit.
 */
import { CLIENT_TIMEOUT } from './settings.ts';
import type { Outcome } from './ledger.ts';

/** An answer, or the lack of one. */
export interface Reply {
  outcome: Outcome;
  location?: string;
  body: string;
  /** The body parsed as JSON, when it was JSON. */
  json?: Record<string, unknown>;
}

/** How to send one request. */
export interface Send {
  method?: string;
  /** `'page'` asks for HTML, `'api'` (default) for JSON. */
  kind?: 'page' | 'api';
  form?: Record<string, string>;
  /** A Cookie header to send instead of the jar's; the answer's cookies are not kept. */
  cookie?: string;
}

/** A cookie-keeping HTTP client for one user. */
export class UserBrowser {
  readonly #jar = new Map<string, string>();
  readonly #address: string;

  constructor(address: string) {
    this.#address = address;
  }

  /** The value of one cookie in the jar. */
  cookie(name: string): string | undefined {
    return this.#jar.get(name);
  }

  /** Sends one request (redirects are not followed); no answer in time is `'timeout'`. */
  async send(url: string, init: Send = {}): Promise<Reply> {
    const headers: Record<string, string> = {
      accept: init.kind === 'page' ? 'text/html,*/*;q=0.8' : 'application/json',
      'x-forwarded-for': this.#address,
    };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    else if (this.#jar.size > 0) {
      headers.cookie = [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    let body: string | undefined;
    if (init.form !== undefined) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(CLIENT_TIMEOUT),
      });
      if (init.cookie === undefined) this.#keepCookies(response);
      text = await response.text();
    } catch (error) {
      const name = (error as { name?: string }).name;
      return { outcome: name === 'TimeoutError' ? 'timeout' : 'network', body: '' };
    }
    const reply: Reply = { outcome: response.status, body: text };
    const location = response.headers.get('location');
    if (location !== null) reply.location = new URL(location, url).href;
    if (response.headers.get('content-type')?.includes('json')) {
      try {
        reply.json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not JSON after all: the body stays as text.
      }
    }
    return reply;
  }

  #keepCookies(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, v] = attribute.split('=').map((s) => s.trim().toLowerCase());
        return (
          (key === 'max-age' && Number(v) <= 0) ||
          (key === 'expires' && Date.parse(v ?? '') < Date.now())
        );
      });
      if (expired || value === '') this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
  }
}
