/**
 * Telling a login callback from a login start by the request's URL: a plain path is told
 * by its path alone, and must be told exactly as a parsed URL would tell it.
 */
import { describe, expect, it } from 'vitest';
import { type AuthRequest, callbackRequestQuery } from '../lib/callback-http.ts';

const CALLBACK = '/oauth/callback';

/** What the answer was before plain paths skipped the parser: parse, then decide. */
function parsed(raw: string): boolean {
  const url = new URL(raw, 'http://request.invalid');
  const path = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p).toLowerCase();
  const params = url.searchParams;
  return (
    path(url.pathname) === path(CALLBACK) ||
    params.has('code') ||
    params.has('state') ||
    params.has('error')
  );
}

describe('callbackRequestQuery', () => {
  it.each([
    '/login',
    '/',
    '/auth/argus',
    '/oauth/callback',
    '/OAuth/Callback/',
    '/oauth/callback/extra',
    '/oauth//callback',
    '//evil.example/oauth/callback',
    '/x/../oauth/callback',
    '/oauth/%63allback',
    '/login?code=x',
    '/login?state=',
    '/login?error=access_denied',
    '/login?next=/a',
    '/oauth/callback?code=a&state=b',
    '/login#state',
  ])('decides %s as a parsed URL would', (raw) => {
    const req = { originalUrl: raw } as AuthRequest;
    expect(callbackRequestQuery(req, CALLBACK) !== undefined).toBe(parsed(raw));
  });

  it('returns the query of a callback, with its parameters', () => {
    const query = callbackRequestQuery(
      { url: '/oauth/callback?code=c&state=s' } as AuthRequest,
      CALLBACK,
    );
    expect(query?.params.getAll('code')).toEqual(['c']);
    expect(query?.search).toBe('?code=c&state=s');
  });
});
