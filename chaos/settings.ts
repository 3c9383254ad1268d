/**
 * The fixed settings of the chaos run, shared by the driver and the app instances. Tokens
 * live briefly so that a short run sees many refreshes; every duration is in ms.
 */

/** Access token lifetime at the emulator. */
export const TOKEN_LIFETIME = 20_000;
/** requireArgus's refresh window: a token refreshes once it has this long left. */
export const REFRESH_WINDOW = 6_000;
/** The strategy's time limit on every Argus call. */
export const STRATEGY_TIMEOUT = 3_000;
/** The breaker's `slowCall` in the instances: a third of the timeout, as by default. */
export const STRATEGY_SLOW_CALL = 1_000;
/** The driver's own time limit on one request to an app instance. */
export const CLIENT_TIMEOUT = 15_000;
/**
 * How long after Argus rejected a grant a 200 for its session counts as served after the
 * rejection: the rejected request needs a moment to log the session out everywhere.
 */
export const REJECTION_SLACK = 2_000;

/** The OAuth client that the instances are and the emulator knows. */
export const CLIENT_ID = '5f0c8a52-6d3e-4c1b-9a7f-2e4d6b8c0a13';
/** Its secret. */
export const CLIENT_SECRET = 'chaos client secret';
/** express-session's signing secret, the same on every instance. */
export const SESSION_SECRET = 'chaos session secret';

/** The user name of user `i` (0-based): user001, user002, … */
export const userName = (i: number): string => `user${String(i + 1).padStart(3, '0')}`;
/** The password of a user. */
export const passwordOf = (name: string): string => `${name}-password`;
/**
 * The address a user's browser appears to come from (sent as X-Forwarded-For, which the
 * instances trust from loopback), so that each Argus call can be told apart by user.
 */
export const addressOf = (i: number): string => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
