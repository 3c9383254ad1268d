/**
 * A small browser for tests: keeps cookies per host (as browsers do, across ports),
 * never follows redirects by itself, and records every answer so tests can scan them.
 */

export interface Seen {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface BrowserRequest {
  method?: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  body?: string;
}

export class Browser {
  readonly jar = new Map<string, Map<string, string>>();
  readonly seen: Seen[] = [];
  readonly accept: string;

  constructor(accept = 'text/html,application/xhtml+xml,*/*;q=0.8') {
    this.accept = accept;
  }

  cookies(url: string): Map<string, string> {
    const host = new URL(url).hostname;
    let jar = this.jar.get(host);
    if (!jar) {
      jar = new Map();
      this.jar.set(host, jar);
    }
    return jar;
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies(url).get(name);
  }

  async request(url: string, init: BrowserRequest = {}): Promise<Seen> {
    const jar = this.cookies(url);
    const headers: Record<string, string> = { accept: this.accept, ...init.headers };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const method = init.method ?? (body === undefined ? 'GET' : 'POST');
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.split('=').map((s) => s.trim().toLowerCase());
        return (
          (k === 'max-age' && Number(v) <= 0) ||
          (k === 'expires' && Date.parse(v ?? '') < Date.now())
        );
      });
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    const seen: Seen = {
      method,
      url,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
    this.seen.push(seen);
    return seen;
  }

  /** Requests `url` and follows redirects (GET) until an answer that is not one. */
  async follow(url: string, init: BrowserRequest = {}, maxHops = 10): Promise<Seen> {
    let answer = await this.request(url, init);
    for (let hop = 0; hop < maxHops; hop++) {
      const location = answer.headers.get('location');
      if (answer.status < 300 || answer.status >= 400 || location === null) return answer;
      answer = await this.request(new URL(location, answer.url).href);
    }
    throw new Error(`more than ${maxHops} redirects from ${url}`);
  }
}

/** The value of a hidden or text input in an HTML form. */
export function inputValue(html: string, name: string): string | undefined {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*>`, 'i').exec(html);
  if (!match) return undefined;
  const value = /value="([^"]*)"/i.exec(match[0]);
  return value?.[1]
    ?.replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
