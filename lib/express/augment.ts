/// <reference types="express-session" />
/// <reference types="passport" />
/**
 * Types for Express users: `req.argus` on every `Request`, and passport-argus's keys on
 * express-session's `SessionData`.
 */
import type { ArgusRequestContext } from '../core/argus-context.ts';
import type { ArgusTokenSet } from '../core/token-set.ts';

declare global {
  namespace Express {
    /**
     * The logged-in user, as passport declares it (the app may add to it). Declared here
     * as well, so that the package's declarations compile without passport's types, as in
     * a Koa app that uses koa-passport; with them, the two declarations merge into one.
     */
    interface User {}

    interface Request {
      /** The user's Argus session; set by `requireArgus()` on the requests it lets through. */
      argus: ArgusRequestContext;
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    /** The Argus token set (passport-argus). Never send it to the browser. */
    argus: ArgusTokenSet;
    /** Logins under way, one record per state (passport-argus). */
    argusLogins: unknown[];
    /** The same-origin path to return to after login (passport's convention). */
    returnTo: string;
  }
}
