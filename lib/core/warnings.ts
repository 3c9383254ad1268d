/**
 * Warnings about a risky but allowed setup: each is a `process.emitWarning` with a `code`
 * of its own, so an app can filter the ones it has thought about. The checks are
 * framework-free: an adapter hands them plain facts about the app and the request.
 */

/** The `code` of every warning passport-argus emits. */
export const ArgusWarningCode = {
  /** The in-memory session store under `NODE_ENV=production`. */
  MEMORY_STORE: 'PASSPORT_ARGUS_MEMORY_STORE',
  /** The session cookie has no `sameSite` although the app serves https. */
  COOKIE_SAMESITE: 'PASSPORT_ARGUS_COOKIE_SAMESITE',
  /** The session cookie is not `secure` although the app serves https. */
  COOKIE_SECURE: 'PASSPORT_ARGUS_COOKIE_SECURE',
  /** The app trusts every proxy hop, so any client can choose the IP forwarded to Argus. */
  TRUST_PROXY: 'PASSPORT_ARGUS_TRUST_PROXY',
  /** A plain-http Argus URL off loopback, allowed by `allowInsecureHttp`. */
  INSECURE_HTTP: 'PASSPORT_ARGUS_INSECURE_HTTP',
  /** A login callback came without the session cookie of its login (once per strategy). */
  COOKIE_LOST: 'PASSPORT_ARGUS_COOKIE_LOST',
} as const;

/** The union of every warning code. */
export type ArgusWarningCode = (typeof ArgusWarningCode)[keyof typeof ArgusWarningCode];

/** The `type` of every warning passport-argus emits (`warning.name` in a listener). */
export const WARNING_TYPE = 'PassportArgusWarning';

/** What an adapter knows about the app's setup, as plain facts. */
export interface DeploymentFacts {
  /** The app runs in production. Default: `process.env.NODE_ENV === 'production'`. */
  production?: boolean;
  /** The session store keeps sessions in process memory (express-session's `MemoryStore`). */
  memoryStore?: boolean;
  /** This request arrived over https (Express `req.secure`, Koa `ctx.secure`). */
  secureRequest?: boolean;
  /** The session cookie's `sameSite` option as configured. */
  cookieSameSite?: unknown;
  /** The session cookie's `secure` option as configured (`'auto'` counts as secure). */
  cookieSecure?: unknown;
  /** The app trusts `X-Forwarded-*` from every hop (Express `trust proxy` set to `true`). */
  trustsEveryProxy?: boolean;
}

/** One warning: its code and a message that says what to change. */
export interface ArgusWarning {
  code: ArgusWarningCode;
  message: string;
}

/**
 * The warnings that `facts` call for, in a fixed order. Pure: emits nothing.
 *
 * @example
 * ```ts
 * deploymentWarnings({ production: true, memoryStore: true });
 * // [{ code: 'PASSPORT_ARGUS_MEMORY_STORE', message: '...' }]
 * ```
 */
export function deploymentWarnings(facts: DeploymentFacts): ArgusWarning[] {
  const warnings: ArgusWarning[] = [];
  const production = facts.production ?? process.env.NODE_ENV === 'production';
  if (production && facts.memoryStore) {
    warnings.push({
      code: ArgusWarningCode.MEMORY_STORE,
      message:
        'passport-argus: the session store keeps sessions in process memory under NODE_ENV=production: ' +
        'sessions and their Argus tokens are lost at every restart, are not shared between instances, ' +
        'and the memory grows without bound. Use a shared store such as connect-redis.',
    });
  }
  if (facts.secureRequest) {
    if (facts.cookieSameSite === undefined || facts.cookieSameSite === false) {
      warnings.push({
        code: ArgusWarningCode.COOKIE_SAMESITE,
        message:
          "passport-argus: the session cookie has no sameSite attribute; set cookie.sameSite to 'lax' " +
          'so other sites cannot send requests with it.',
      });
    }
    if (!facts.cookieSecure) {
      warnings.push({
        code: ArgusWarningCode.COOKIE_SECURE,
        message:
          'passport-argus: the app serves https but the session cookie is not secure, so the browser also sends it ' +
          'over plain http. Set cookie.secure to true.',
      });
    }
  }
  if (facts.trustsEveryProxy) {
    warnings.push({
      code: ArgusWarningCode.TRUST_PROXY,
      message:
        "passport-argus: 'trust proxy' is true, which trusts X-Forwarded-For from every hop: any client can choose " +
        'the IP that is forwarded to Argus. Set it to the number of proxies in front of the app, or their addresses.',
    });
  }
  return warnings;
}

/** Emits one warning with `process.emitWarning`, under its code. */
export function emitArgusWarning(warning: ArgusWarning): void {
  process.emitWarning(warning.message, { type: WARNING_TYPE, code: warning.code });
}

/**
 * Emits a warning for each risk that `facts` show. Adapters call it once per middleware,
 * on its first request, so the request path pays nothing after that.
 *
 * @example
 * ```ts
 * let unchecked = true;
 * app.use((ctx, next) => {
 *   if (unchecked) {
 *     unchecked = false;
 *     warnAboutDeployment({ secureRequest: ctx.secure, trustsEveryProxy: ctx.app.proxy });
 *   }
 *   return next();
 * });
 * ```
 */
export function warnAboutDeployment(facts: DeploymentFacts): void {
  for (const warning of deploymentWarnings(facts)) emitArgusWarning(warning);
}
