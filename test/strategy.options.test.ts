import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ArgusStrategy,
  type ArgusStrategyOptions,
  ArgusWarningCode,
  argusLogout,
  RedisRefreshCoordinator,
  requireArgus,
  WARNING_TYPE,
} from 'passport-argus';
import { argusLogout as koaArgusLogout, requireArgus as koaRequireArgus } from 'passport-argus/koa';
import { captureWarnings, releaseWarnings } from './helpers/warnings.ts';

const base: ArgusStrategyOptions = {
  clientID: 'c0ffee00-0000-4000-8000-000000000000',
  clientSecret: 'secret',
  callbackURL: 'https://app.example/oauth/callback',
};

const make = (options: Record<string, unknown>) => () =>
  new ArgusStrategy({ ...base, ...options } as ArgusStrategyOptions);

describe('ArgusStrategy options', () => {
  it('defaults to the production Argus endpoints, PKCE, form client auth and the currentuser profile', () => {
    const strategy = new ArgusStrategy(base);
    const o = strategy.argusOptions;
    expect(strategy.name).toBe('argus');
    expect(o.authorizationURL.href).toBe('https://portal.mnemonic.no/spa/oauth/authorize');
    expect(o.tokenURL.href).toBe('https://api.mnemonic.no/authentication/v1/oauth/token');
    expect(o.pkce).toBe(true);
    expect(o.clientAuthentication).toBe('client_secret_post');
    expect(o.profile).toBe('currentuser');
    expect(o.timeout).toBe(10_000);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('never changes the caller’s options object', () => {
    const options = { ...base, scope: ['openid', 'groups'] };
    const copy = structuredClone(options);
    new ArgusStrategy(options);
    expect(options).toEqual(copy);
  });

  it.each([
    [
      'clientID',
      { clientID: undefined },
      'ArgusStrategy requires a clientID option (a non-empty string)',
    ],
    [
      'clientSecret',
      { clientSecret: '' },
      'ArgusStrategy requires a clientSecret option (a non-empty string)',
    ],
    [
      'callbackURL',
      { callbackURL: undefined },
      'ArgusStrategy requires a callbackURL option (a non-empty string)',
    ],
    [
      'callbackURL relative',
      { callbackURL: '/oauth/callback' },
      'ArgusStrategy option "callbackURL" must be an absolute URL, got an unparseable value',
    ],
    ['timeout', { timeout: -5 }, 'ArgusStrategy option "timeout" must be a positive number'],
    [
      'timeout past the longest timer',
      { timeout: 2 ** 31 },
      'ArgusStrategy option "timeout" must be at most 2147483647 ms, the longest timer Node.js can set (a longer one fires at once)',
    ],
    [
      'defaultTokenLifetime past a year',
      { defaultTokenLifetime: 1e300 },
      'ArgusStrategy option "defaultTokenLifetime" must be at most one year (31536000000 ms)',
    ],
    [
      'profile',
      { profile: 'me' },
      'ArgusStrategy option "profile" must be one of "currentuser", "userinfo", false',
    ],
    [
      'clientAuthentication',
      { clientAuthentication: 'private_key_jwt' },
      'ArgusStrategy option "clientAuthentication" must be one of "client_secret_post", "client_secret_basic"',
    ],
    ['pkce', { pkce: 'yes' }, 'ArgusStrategy option "pkce" must be one of true, false'],
    [
      'scope',
      { scope: 42 },
      'ArgusStrategy option "scope" must be a string or an array of scope words',
    ],
    [
      'apiURL with a query',
      { apiURL: 'https://api.example/?x=1' },
      'ArgusStrategy option "apiURL" must not contain a query or fragment',
    ],
    [
      'portalURL scheme',
      { portalURL: 'ftp://portal.example' },
      'ArgusStrategy option "portalURL" must be an https URL',
    ],
  ])('refuses a wrong %s with a TypeError naming it', (_name, options, message) => {
    expect(make(options)).toThrow(new TypeError(message));
  });

  it('refuses plain http off loopback and says why', () => {
    expect(make({ apiURL: 'http://api.example' })).toThrow(
      /option "apiURL" must use https: plain http would send tokens and secrets in the clear/,
    );
    expect(make({ callbackURL: 'http://app.example/cb' })).toThrow(TypeError);
  });

  it('allows plain http on loopback, and elsewhere only with allowInsecureHttp, with a warning', () => {
    const warnings = captureWarnings();
    try {
      expect(
        make({ apiURL: 'http://127.0.0.1:4000', portalURL: 'http://localhost:4000' }),
      ).not.toThrow();
      expect(make({ apiURL: 'http://[::1]:4000' })).not.toThrow();
      expect(warnings).toEqual([]);
      expect(make({ apiURL: 'http://argus.test', allowInsecureHttp: true })).not.toThrow();
    } finally {
      releaseWarnings();
    }
    expect(warnings.map((warning) => [warning.name, warning.code])).toEqual([
      [WARNING_TYPE, ArgusWarningCode.INSECURE_HTTP],
    ]);
  });

  it('keeps a path prefix of apiURL and portalURL', () => {
    const o = new ArgusStrategy({
      ...base,
      apiURL: 'https://gw.example/argus/',
      portalURL: 'https://gw.example/portal',
    }).argusOptions;
    expect(o.tokenURL.href).toBe('https://gw.example/argus/authentication/v1/oauth/token');
    expect(o.authorizationURL.href).toBe('https://gw.example/portal/spa/oauth/authorize');
  });

  it('refuses a coordinator without the coordination methods', () => {
    expect(make({ coordinator: { acquire() {} } })).toThrow(
      'ArgusStrategy option "coordinator" must have the methods acquire, recordSuccessor, facts, markLoggedOut, claim, settleClaim, claimOutcome',
    );
  });

  describe('a coordinator lock that could expire while its holder still waits for Argus', () => {
    // Construction only: no command is ever sent.
    const redis = { sendCommand: async () => null };
    const withLock = (lockTtl: number, timeout?: number) =>
      make({ timeout, coordinator: new RedisRefreshCoordinator(redis, { lockTtl }) });

    it.each([
      // [lockTtl, the strategy's timeout, the timeout option (undefined: the default)]
      [1500, 10_000, undefined],
      [10_000, 10_000, undefined],
      [10_999, 10_000, undefined],
      [2999, 2000, 2000],
    ])('refuses lockTtl %d ms with a timeout of %d ms, and says why', (lockTtl, shown, timeout) => {
      expect(withLock(lockTtl, timeout)).toThrow(
        new TypeError(
          `ArgusStrategy option "coordinator" has a lockTtl of ${lockTtl} ms; it must be at least the strategy's timeout (${shown} ms) plus 1000 ms, so that a refresh lock never expires while its holder is still waiting for Argus`,
        ),
      );
    });

    it('accepts a lockTtl of at least the timeout plus 1000 ms, and no lockTtl at all', () => {
      expect(withLock(11_000)).not.toThrow();
      expect(withLock(3000, 2000)).not.toThrow();
      expect(make({ coordinator: new RedisRefreshCoordinator(redis) })).not.toThrow();
    });

    it('shows the configured lockTtl on the coordinator', () => {
      expect(new RedisRefreshCoordinator(redis, { lockTtl: 20_000 }).lockTtl).toBe(20_000);
      expect(new RedisRefreshCoordinator(redis).lockTtl).toBeUndefined();
    });

    it('refuses a coordinator of its own whose lockTtl is not a number of milliseconds', () => {
      const own = {
        acquire: async () => undefined,
        recordSuccessor: async () => undefined,
        facts: async () => ({ loggedOut: false }),
        markLoggedOut: async () => undefined,
        claim: async () => true,
        settleClaim: async () => undefined,
        claimOutcome: async () => undefined,
        lockTtl: '20000',
      };
      expect(make({ coordinator: own })).toThrow(
        new TypeError(
          'ArgusStrategy option "coordinator" has a lockTtl that is not a number of milliseconds',
        ),
      );
    });
  });

  it('requires a verify function with passReqToCallback', () => {
    expect(() => new ArgusStrategy({ ...base, passReqToCallback: true } as never)).toThrow(
      'ArgusStrategy with passReqToCallback: true requires a verify function',
    );
  });

  it('refuses a verifyStyle other than argus, oauth2 or oauth2-params', () => {
    const verify = () => undefined;
    for (const verifyStyle of ['passport', 'OAuth2', true, 4]) {
      expect(() => new ArgusStrategy({ ...base, verifyStyle } as never, verify)).toThrow(
        new TypeError(
          'ArgusStrategy option "verifyStyle" must be one of "argus", "oauth2", "oauth2-params"',
        ),
      );
    }
    for (const verifyStyle of ['argus', 'oauth2', 'oauth2-params'] as const) {
      expect(new ArgusStrategy({ ...base, verifyStyle }, verify).argusOptions.verifyStyle).toBe(
        verifyStyle,
      );
    }
  });

  it('requires a verify function with verifyStyle', () => {
    expect(() => new ArgusStrategy({ ...base, verifyStyle: 'oauth2' })).toThrow(
      new TypeError('ArgusStrategy option "verifyStyle" requires a verify function'),
    );
  });
});

describe('ArgusStrategy option encryptionKeys', () => {
  const key32 = randomBytes(32);
  const base64 = key32.toString('base64');

  it('accepts one key or a list, newest first: { id, key } with a Buffer or base64, or bare keys', () => {
    for (const encryptionKeys of [
      base64,
      `${base64}\n`,
      key32.toString('base64url'),
      key32,
      new Uint8Array(32),
      { id: '2026-12', key: base64 },
      [
        { id: '2026-12', key: key32 },
        { id: '2026-06', key: randomBytes(32).toString('base64') },
      ],
      [base64, randomBytes(32).toString('base64')],
    ]) {
      const strategy = make({ encryptionKeys })();
      expect(strategy.engine.vault.seals).toBe(true);
    }
    expect(new ArgusStrategy(base).engine.vault.seals).toBe(false);
  });

  it.each([
    ['an empty list', [], 'ArgusStrategy option "encryptionKeys" must hold at least one key'],
    ['a number', 42, 'ArgusStrategy option "encryptionKeys": key [0] must be a base64 string'],
    ['null in the list', [null], 'ArgusStrategy option "encryptionKeys": key [0] must be'],
    [
      'a 16-byte key',
      randomBytes(16).toString('base64'),
      'ArgusStrategy option "encryptionKeys": key [0] is not 32 bytes in base64 (it reads as 16 bytes)',
    ],
    [
      'a 31-byte Buffer',
      [randomBytes(32), randomBytes(31)],
      'ArgusStrategy option "encryptionKeys": key [1] has 31 bytes; AES-256 needs exactly 32 random bytes',
    ],
    [
      'a passphrase',
      'correct horse battery staple',
      'ArgusStrategy option "encryptionKeys": key [0] is not 32 bytes in base64',
    ],
    [
      'a 64-byte key',
      randomBytes(64).toString('base64'),
      'ArgusStrategy option "encryptionKeys": key [0] is not 32 bytes in base64 (it reads as 64 bytes)',
    ],
    [
      'an id with a dot',
      { id: '2026.12', key: randomBytes(32) },
      'ArgusStrategy option "encryptionKeys": key [0] needs an id of 1 to 64 letters, digits, "_" or "-"',
    ],
    [
      'an empty id',
      { id: '', key: randomBytes(32) },
      'ArgusStrategy option "encryptionKeys": key [0] needs an id',
    ],
    [
      'a short key with an id',
      [
        { id: 'new', key: randomBytes(32) },
        { id: 'old', key: 'c2hvcnQ=' },
      ],
      'ArgusStrategy option "encryptionKeys": key [1] ("old") is not 32 bytes in base64 (it reads as 5 bytes)',
    ],
    [
      'an id twice',
      [
        { id: 'k', key: randomBytes(32) },
        { id: 'k', key: randomBytes(32) },
      ],
      'ArgusStrategy option "encryptionKeys" has the key id "k" twice',
    ],
  ])('refuses %s with a TypeError naming the option', (_what, encryptionKeys, message) => {
    expect(make({ encryptionKeys })).toThrow(TypeError);
    expect(make({ encryptionKeys })).toThrow(message);
  });

  it('never puts key material in a message or in the strategy as printed', () => {
    const short = randomBytes(24).toString('base64');
    let message = '';
    try {
      make({ encryptionKeys: [base64, short] })();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('key [1]');
    expect(message).not.toContain(short);
    expect(message).not.toContain(base64);
    const printed = inspect(make({ encryptionKeys: [{ id: 'k', key: base64 }] })(), {
      depth: 10,
      showHidden: true,
    });
    expect(printed).not.toContain(base64);
    expect(printed).not.toContain(key32.toString('hex'));
  });
});

describe('requireArgus options', () => {
  it.each([
    [
      { refreshWindow: -1 },
      'requireArgus option "refreshWindow" must be a number of milliseconds ≥ 0',
    ],
    [
      { refreshTimeout: 0 },
      'requireArgus option "refreshTimeout" must be a number of milliseconds ≥ 1',
    ],
    [
      { sessionCheckInterval: 999 },
      'requireArgus option "sessionCheckInterval" must be a number of milliseconds ≥ 1000',
    ],
    [
      { sessionCheckInterval: '30s' as unknown as number },
      'requireArgus option "sessionCheckInterval" must be a number of milliseconds ≥ 1000',
    ],
    [
      { sessionCheckInterval: Number.NaN },
      'requireArgus option "sessionCheckInterval" must be a number of milliseconds ≥ 1000',
    ],
    [
      { loginURL: '//evil.example' },
      'requireArgus option "loginURL" must be a same-origin path such as "/login": printable ASCII, and nothing a browser could read as another site ("//", "\\", encoded slashes, control characters)',
    ],
    [
      { strategy: 42 },
      'requireArgus option "strategy" must be an ArgusStrategy or a strategy name',
    ],
  ])('refuses %o', (options, message) => {
    expect(() => requireArgus(options)).toThrow(new TypeError(message));
  });
});

describe('loginURL and redirectTo, which become a Location header', () => {
  /** Builds, in each framework, the middleware that takes the named option. */
  const constructors: [string, (option: string, value: unknown) => unknown][] = [
    [
      'Express',
      (o, v) =>
        o === 'loginURL'
          ? requireArgus({ loginURL: v as string })
          : argusLogout({ redirectTo: v as string }),
    ],
    [
      'Koa',
      (o, v) =>
        o === 'loginURL'
          ? koaRequireArgus({ loginURL: v as string })
          : koaArgusLogout({ redirectTo: v as string }),
    ],
  ];
  const options: [string, string][] = [
    ['loginURL', 'requireArgus'],
    ['redirectTo', 'argusLogout'],
  ];
  // Values a browser resolves off-site, or that no browser should get as a Location.
  const hostile: unknown[] = [
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/\x00/evil.example',
    '/login\x7f',
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\/evil.example',
    '/.//evil.example',
    'https://evil.example',
    'http://app@evil.example',
    'javascript:alert(1)',
    '/%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%09/evil.example',
    '/%252F%252Fevil.example',
    '/\u202e/evil.example',
    ' /login',
    'login',
    '',
    42,
  ];
  const cases = constructors.flatMap(([framework, make]) =>
    options.flatMap(([option, fn]) =>
      hostile.map((value) => [framework, fn, option, value, make] as const),
    ),
  );

  it.each(cases)('%s %s() refuses %s %j at construction', (_framework, fn, option, value, make) => {
    expect(() => make(option, value)).toThrow(
      new TypeError(
        `${fn} option "${option}" must be a same-origin path such as "/login": printable ASCII, and nothing a browser could read as another site ("//", "\\", encoded slashes, control characters)`,
      ),
    );
  });

  it.each(constructors)('%s accepts same-origin paths, with a query or not', (_framework, make) => {
    for (const option of ['loginURL', 'redirectTo']) {
      for (const value of ['/', '/login', '/auth/login?from=guard', '/signed-out#bye']) {
        expect(() => make(option, value)).not.toThrow();
      }
    }
  });
});
