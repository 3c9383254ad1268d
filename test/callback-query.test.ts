/**
 * A callback's query read without the URL parser must read exactly as the parser reads
 * it: the same parameters, the same values, the same raw text for the escape check. Every
 * target here is compared with `new URL()`, the plain ones and the ones left to the parser.
 */
import { describe, expect, it } from 'vitest';
import { type AuthRequest, callbackRequestQuery } from '../lib/callback-http.ts';
import { plainTarget } from '../lib/callback-query.ts';

const CALLBACK = '/oauth/callback';
const NAMES = ['code', 'state', 'error', 'error_description', '', 'x', 'code[]'];

/** What the parser makes of `raw`: path, the values of each name, and `search`. */
function viaURL(raw: string) {
  const url = new URL(raw, 'http://request.invalid');
  return {
    path: url.pathname,
    values: NAMES.map((name) => url.searchParams.getAll(name)),
    has: NAMES.map((name) => url.searchParams.has(name)),
    search: url.search,
  };
}

const STATE = 'A'.repeat(43);
const TARGETS = [
  '/oauth/callback',
  '/oauth/callback?',
  `/oauth/callback?code=abc-123&state=${STATE}`,
  `/oauth/callback?state=${STATE}&code=a&code=b`,
  '/oauth/callback?code=&state=',
  '/oauth/callback?code&state',
  '/oauth/callback?&&code=a&&',
  '/oauth/callback?==x&code==y=',
  '/oauth/callback?code=a.b~c_d-e',
  `/oauth/callback?error=access_denied&state=${STATE}`,
  '/login',
  '/login?next=a',
  // Left to the parser: each needs decoding, escaping or normalising.
  '/oauth/callback?code=a%20b',
  '/oauth/callback?code=a+b',
  '/oauth/callback?code=%ZZ',
  '/oauth/callback?code=%00&state=%0d%0a',
  '/oauth/callback?code=%E2%80%AE',
  '/oauth/callback?code[]=x&code[a]=b',
  '/oauth/callback?__proto__[x]=1',
  '/oauth/callback?code=a#state=b',
  '/oauth/callback?code=é',
  '/oauth/callback?code=a b',
  '/oauth/callback?code="x"',
  '/oauth/callback?code=a\tb',
  '//evil.example/oauth/callback?code=a',
  '/x/../oauth/callback?code=a',
  '/oauth/%63allback?code=a',
  '/oauth/callback.?code=a',
];

/** Random targets from an alphabet with every character the plain reading must get right. */
function randomTargets(count: number): string[] {
  const alphabet = 'ab0_-.~=&=&%2F+#?/ é\x00[]';
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  return Array.from({ length: count }, () => {
    const length = next() % 24;
    let query = '';
    for (let i = 0; i < length; i++) query += alphabet[next() % alphabet.length];
    return `/oauth/callback?${query}`;
  });
}

describe('the plain reading of a callback query', () => {
  it.each([...TARGETS, ...randomTargets(400)])('reads %j as the URL parser does', (raw) => {
    const expected = viaURL(raw);
    const plain = plainTarget(raw);
    if (plain !== undefined) {
      expect(plain.path).toBe(expected.path);
      expect(NAMES.map((name) => plain.query.params.getAll(name))).toEqual(expected.values);
      expect(NAMES.map((name) => plain.query.params.has(name))).toEqual(expected.has);
      expect(plain.query.search).toBe(expected.search);
    }
    const query = callbackRequestQuery({ originalUrl: raw } as AuthRequest, CALLBACK);
    const routed = (p: string) =>
      (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p).toLowerCase();
    const isCallback =
      routed(expected.path) === CALLBACK || expected.has.slice(0, 3).includes(true);
    expect(query !== undefined).toBe(isCallback);
    if (query === undefined) return;
    expect(NAMES.map((name) => query.params.getAll(name))).toEqual(expected.values);
    expect(query.search).toBe(expected.search);
  });

  it('takes the usual callback the plain way, and leaves anything encoded to the parser', () => {
    expect(plainTarget(`/oauth/callback?code=abc-123&state=${STATE}`)).toBeDefined();
    for (const raw of ['/oauth/callback?code=a%41', '/oauth/callback?code=a+b', '//x/y?code=a']) {
      expect(plainTarget(raw)).toBeUndefined();
    }
  });
});
