/**
 * Debug logging under `passport-argus:*` (enable with `DEBUG=passport-argus:*`).
 * Log lines name what happened, never a token, code, verifier, secret or session id.
 */
import createDebug from 'debug';

/** The loggers of each part. */
export const log = {
  http: createDebug('passport-argus:http'),
  strategy: createDebug('passport-argus:strategy'),
  refresh: createDebug('passport-argus:refresh'),
  guard: createDebug('passport-argus:guard'),
  logout: createDebug('passport-argus:logout'),
  events: createDebug('passport-argus:events'),
  login: createDebug('passport-argus:login'),
} as const;
