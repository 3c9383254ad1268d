/**
 * One breaker per Argus service. Argus is one gateway in front of many services
 * (`/authentication/…`, `/currentuser/…`, `/cases/…`): one service answering 503 is not
 * Argus down. With a single breaker, two failed calls to one service would stop every
 * refresh, and with them every session whose token has expired. So the session's own calls
 * (token, session check, logout) go through the authentication breaker, and each API call
 * through the breaker of its service, named by the first segment of its path.
 */
import type { ArgusBreaker } from './breaker.ts';

/** The service of the session's own calls: the token endpoint, the session check, logout. */
export const AUTHENTICATION = 'authentication';

/** A service name as it stands in a path: what `serviceOf` keeps. */
const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Beyond this many services, the rest share one breaker: an app that puts something other
 * than a service name first in its paths cannot grow the table without bound.
 */
const MAX_SERVICES = 32;

/** The breaker shared by paths whose first segment is no service name, or one too many. */
export const OTHER = '(other)';

/** The service of an API path (`/cases/v2/case?x=1` → `cases`), or {@link OTHER}. */
export function serviceOf(path: string): string {
  const start = path.startsWith('/') ? 1 : 0;
  let end = start;
  while (end < path.length) {
    const c = path.charCodeAt(end);
    // '/', '?' and '#' end the first segment.
    if (c === 47 || c === 63 || c === 35) break;
    end++;
  }
  const name = path.slice(start, end);
  return SERVICE.test(name) ? name.toLowerCase() : OTHER;
}

/**
 * The breakers of one Argus API, made on first use: the authentication breaker (given)
 * and one per service the app calls.
 */
export class ServiceBreakers {
  readonly #authentication: ArgusBreaker;
  readonly #make: (service: string) => ArgusBreaker;
  readonly #byService = new Map<string, ArgusBreaker>();

  /** `make` builds the breaker of a service the first time an API call names it. */
  constructor(authentication: ArgusBreaker, make: (service: string) => ArgusBreaker) {
    this.#authentication = authentication;
    this.#make = make;
  }

  /** The breaker of the session's own calls. */
  get authentication(): ArgusBreaker {
    return this.#authentication;
  }

  /** The breaker an API call to `path` goes through. */
  forPath(path: string): ArgusBreaker {
    let service = serviceOf(path);
    if (service === AUTHENTICATION) return this.#authentication;
    let breaker = this.#byService.get(service);
    if (breaker !== undefined) return breaker;
    if (this.#byService.size >= MAX_SERVICES) {
      service = OTHER;
      breaker = this.#byService.get(service);
      if (breaker !== undefined) return breaker;
    }
    breaker = this.#make(service);
    this.#byService.set(service, breaker);
    return breaker;
  }

  /** The API services whose breaker is open in this process now. */
  openServices(): string[] {
    const open: string[] = [];
    for (const [service, breaker] of this.#byService)
      if (breaker.state === 'open') open.push(service);
    return open;
  }
}
