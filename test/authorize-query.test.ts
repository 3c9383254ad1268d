/**
 * The authorize query with its fixed part serialised once must be the query built
 * parameter by parameter, as the strategy built it for every login before.
 */
import { describe, expect, it } from 'vitest';
import { authorizeQuery } from '../lib/authorize-query.ts';
import { resolveOptions } from '../lib/core/options.ts';

/** The query as the strategy built it for each login. */
function builtWhole(
  opts: ReturnType<typeof resolveOptions>,
  extra: object,
  scopeOption: string | string[] | undefined,
  started: { state: string; codeChallenge?: string },
): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value === 'string') query.set(key, value);
  }
  query.set('client_id', opts.clientID);
  query.set('redirect_uri', opts.callbackURL.href);
  query.set('response_type', 'code');
  const scope = scopeOption === undefined ? opts.scope : [scopeOption].flat().join(' ');
  if (scope) query.set('scope', scope);
  query.set('state', started.state);
  if (started.codeChallenge !== undefined) {
    query.set('code_challenge', started.codeChallenge);
    query.set('code_challenge_method', 'S256');
  }
  return query.toString();
}

const BASE = {
  clientID: 'client id+é&=',
  clientSecret: 'secret',
  callbackURL: 'https://app.example/o auth/callbäck',
};
const STARTED = [
  { state: 'A-b_c'.repeat(8).slice(0, 43), codeChallenge: 'Z9_-'.repeat(11).slice(0, 43) },
  { state: 'q'.repeat(43) },
];

describe('authorizeQuery', () => {
  it.each([
    [{}, {}, undefined],
    [{ scope: 'openid profile' }, {}, undefined],
    [{ scope: ['a', 'b'] }, {}, undefined],
    [{ scope: 'openid' }, {}, 'other'],
    [{}, {}, ['x', 'y']],
    [{}, {}, ''],
    [{}, { prompt: 'login', n: 1 }, undefined],
    [{}, { client_id: 'override', state: 'early' }, undefined],
    [{ scope: 'openid' }, { scope: 'theirs' }, undefined],
  ] as const)('builds the same query for options %j, extra %j, scope %j', (more, extra, scope) => {
    const opts = resolveOptions({ ...BASE, ...more } as Parameters<typeof resolveOptions>[0]);
    for (const started of STARTED) {
      for (let login = 0; login < 2; login++) {
        const scopeOption = scope as string | string[] | undefined;
        expect(authorizeQuery(opts, extra, scopeOption, started)).toBe(
          builtWhole(opts, extra, scopeOption, started),
        );
      }
    }
  });
});
