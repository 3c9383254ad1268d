import type { IncomingMessage } from 'node:http';
import { mediaType, secretsEqual } from './http-util.ts';

/**
 * Who may use the control API. A page the developer visits can reach a loopback server too:
 * through DNS rebinding (its own name pointed at 127.0.0.1, so the browser sends that name as
 * `Host`) or with a cross-site POST. The host check defeats the first, since a rebound page
 * cannot send a loopback name as `Host`; requiring `application/json` on every POST defeats the
 * second, since a cross-site page can only send that after a CORS preflight, which the emulator
 * never grants. The optional token keeps out other local programs and users.
 */
export interface ControlPolicy {
  /** Lower-case host names and addresses (IPv6 without brackets), any port. */
  readonly hosts: ReadonlySet<string>;
  /** The bearer token every control request must present, if one is set. */
  readonly token: string | undefined;
}

/** A refused control request: its status and what to tell the caller. */
export interface Refusal {
  readonly status: 403 | 415;
  readonly error: string;
}

/** The names of the loopback interface that a browser never resolves through DNS. */
const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1'];

/**
 * The host name of a `Host` header, lower-cased and without port or IPv6 brackets; undefined
 * when the header is missing or malformed.
 */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]/@]+))(?::\d{1,5})?$/i.exec(header.trim());
  const name = match?.[1] ?? match?.[2];
  return name?.toLowerCase();
}

/**
 * The hosts a policy allows: loopback, the host the emulator listens on (unless it is a
 * wildcard address), and the configured ones.
 */
export function allowedHosts(listenHost: string, configured: readonly string[]): Set<string> {
  const hosts = new Set(LOOPBACK_HOSTS);
  const own = hostName(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
  if (own !== undefined && own !== '0.0.0.0' && own !== '::') hosts.add(own);
  for (const host of configured) hosts.add(host.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  return hosts;
}

/**
 * Whether a `Host` name is allowed. Names under `.localhost` count as loopback: browsers
 * resolve them to it without DNS (RFC 6761 §6.3), so a rebinding page cannot use one.
 */
function hostAllowed(name: string, hosts: ReadonlySet<string>): boolean {
  return hosts.has(name) || (name.endsWith('.localhost') && name.length > '.localhost'.length);
}

/** The bearer token of an Authorization header, if it has one. */
function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
}

/**
 * Why a control request must be refused, or undefined when it may go on. Checked before the
 * route is even looked up, so a refused caller learns nothing and changes nothing.
 */
export function refusal(req: IncomingMessage, policy: ControlPolicy): Refusal | undefined {
  const name = hostName(req.headers.host);
  if (name === undefined || !hostAllowed(name, policy.hosts)) {
    return {
      status: 403,
      error:
        'the control API answers only requests to a loopback host or one of controlHosts ' +
        `(Host was ${JSON.stringify(req.headers.host ?? '')})`,
    };
  }
  if (policy.token !== undefined) {
    // Compare even when no token came, so timing does not tell a wrong token from none.
    const given = bearer(req);
    if (!secretsEqual(given ?? '', policy.token) || given === undefined) {
      return { status: 403, error: 'the control API needs Authorization: Bearer <controlToken>' };
    }
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    if (mediaType(req.headers['content-type']) !== 'application/json') {
      return {
        status: 415,
        error: 'control requests that change something must be application/json',
      };
    }
  }
  return undefined;
}
