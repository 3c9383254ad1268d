/**
 * What the guard answers when a request cannot go on, the same in every framework. The
 * bodies are fixed text: nothing from the request or from Argus is echoed.
 */

/** A response for an adapter to write. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** A redirect target, for page requests. */
  location?: string;
  body?: string;
  contentType?: 'application/json; charset=utf-8' | 'text/html; charset=utf-8';
}

/** Why the user is not (or no longer) logged in, as the API answer's `error`. */
export type DenialReason = 'login_required' | 'session_expired';

/** A logged-out request: page requests go to the login page, API requests get a 401. */
export function denial(reason: DenialReason, page: boolean, loginURL: string): Answer {
  if (page) return { status: 302, headers: { 'Cache-Control': 'no-store' }, location: loginURL };
  return json(401, { error: reason });
}

/** Argus is unavailable and the token expired: 503 with `Retry-After`, session kept. */
export function unavailable(page: boolean, retryAfterSeconds: string): Answer {
  const headers = { 'Retry-After': retryAfterSeconds, 'Cache-Control': 'no-store' };
  if (!page) return { ...json(503, { error: 'argus_unavailable' }), headers };
  return {
    status: 503,
    headers,
    contentType: 'text/html; charset=utf-8',
    body:
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Argus is unavailable</title></head>' +
      '<body><h1>Argus is unavailable</h1><p>You are still logged in. Please try again in a moment.</p></body></html>',
  };
}

/** A JSON answer. */
export function json(status: number, value: Record<string, string>): Answer {
  return {
    status,
    headers: { 'Cache-Control': 'no-store' },
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(value),
  };
}
