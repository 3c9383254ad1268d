/**
 * The session checks in flight in one process: keyed by session and access token, so that
 * a check of a newer token never hides the check of the older one still under way (which
 * a request holding the older set would then repeat at Argus).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ArgusStrategy } from 'passport-argus';
import { type ArgusEmulator, startArgusEmulator } from 'passport-argus/emulator';
import { CLIENT_ID, CLIENT_SECRET } from './helpers/app.ts';

let emulator: ArgusEmulator;
let strategy: ArgusStrategy;
beforeEach(async () => {
  emulator = await startArgusEmulator({ quiet: true });
  strategy = new ArgusStrategy({
    clientID: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    callbackURL: 'http://127.0.0.1:1/oauth/callback',
    portalURL: emulator.portalURL,
    apiURL: emulator.apiURL,
  });
});
afterEach(() => emulator.close());

it('joins the check of the same token under way, even after a check of a newer token began', async () => {
  const checks = strategy.engine.sessionChecks;
  // Both first checks stay at Argus a while: each is still in flight when the next starts.
  emulator.failNext('session', { delay: 200, times: 2 });
  const older = checks.check('session-1', 'token-before-refresh', undefined);
  const newer = checks.check('session-1', 'token-after-refresh', undefined);
  const olderAgain = checks.check('session-1', 'token-before-refresh', undefined);
  const results = await Promise.all([older, newer, olderAgain]);
  expect(results.map((r) => r.leader)).toEqual([true, true, false]);
  // Unknown tokens: Argus answers 401, and all three saw that.
  expect(results.map((r) => r.state)).toEqual(['ended', 'ended', 'ended']);
  expect(emulator.requestsTo('session')).toHaveLength(2);
  expect(checks.inFlight).toBe(0);
});
