/**
 * URL rules: https for Argus, and return paths that cannot leave the site.
 */
import { ArgusWarningCode, emitArgusWarning } from './warnings.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) return true;
  return /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Parses an Argus URL option and refuses plain http outside loopback, since tokens and
 * client secrets would cross the network in the clear.
 *
 * @see RFC 6749 §10.9, RFC 9700 §2.6
 */
export function parseArgusURL(name: string, value: unknown, allowInsecure: boolean): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`ArgusStrategy option "${name}" must be an absolute URL string`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `ArgusStrategy option "${name}" must be an absolute URL, got an unparseable value`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`ArgusStrategy option "${name}" must be an https URL`);
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new TypeError(
      `ArgusStrategy option "${name}" must use https: plain http would send tokens and secrets in the clear ` +
        `(http is allowed only for loopback hosts, or with allowInsecureHttp: true for development)`,
    );
  }
  if (url.username || url.password) {
    throw new TypeError(`ArgusStrategy option "${name}" must not contain credentials`);
  }
  if (url.search || url.hash) {
    throw new TypeError(`ArgusStrategy option "${name}" must not contain a query or fragment`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    emitArgusWarning({
      code: ArgusWarningCode.INSECURE_HTTP,
      message: `passport-argus: option "${name}" is plain http off loopback (allowInsecureHttp): tokens and secrets cross the network in the clear. Use it for development only.`,
    });
  }
  return url;
}

/** Joins a base URL (which may have a path) and an absolute path with an optional query. */
export function joinURL(base: URL, path: string): URL {
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const url = new URL(base.href);
  const query = path.indexOf('?');
  url.pathname = prefix + (query === -1 ? path : path.slice(0, query));
  if (query !== -1) url.search = path.slice(query);
  return url;
}

const MAX_RETURN_TO = 2048;
const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';

/**
 * Returns `value` when it is a same-origin path (`/…`) that no browser or server can turn
 * into another site, else `undefined`. Refused: `//host`, `/\host`, schemes, credentials,
 * backslashes, control and non-ASCII characters, and encoded slashes that decode into any
 * of those (`/%2F%2Fevil.example`).
 *
 * `undefined` means "no return path", which callers keep apart from `/`. The same rules
 * hold for the `loginURL` and `redirectTo` options, which are sent as a `Location` too.
 *
 * @see RFC 9700 §4.11
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO) {
    return undefined;
  }
  // Printable ASCII only: no spaces, controls, backslashes or bidi tricks.
  if (!/^\/[\x21-\x5b\x5d-\x7e]*$/.test(value)) return undefined;
  let decoded = value;
  for (let round = 0; round < 3; round++) {
    // Decoding keeps the leading '/', so a scheme cannot appear; doubled or back slashes can.
    if (/^[\\/]{2}/.test(decoded) || decoded.includes('\\')) return undefined;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return undefined;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\x00-\x1f\x7f]/.test(next)) return undefined;
    if (next === decoded) break;
    decoded = next;
  }
  const url = new URL(value, PLACEHOLDER_ORIGIN);
  if (url.origin !== PLACEHOLDER_ORIGIN) return undefined;
  const normalised = url.pathname + url.search + url.hash;
  // The parser removes dot segments, so '/.//evil.example' comes out as '//evil.example':
  // what is returned must pass the same checks as what came in.
  return normalised === value ? value : safeReturnTo(normalised);
}
