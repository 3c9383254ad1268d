/**
 * `passport-argus/emulator`: a strict local stand-in for Argus, so that demos and tests run with
 * no Argus account and no network.
 *
 * @packageDocumentation
 */
import { RunningEmulator } from './emulator.ts';
import { resolveOptions } from './options.ts';
import type { ArgusEmulator, ArgusEmulatorOptions } from './types.ts';

export { DEMO_CLIENT, DEMO_USERS } from './options.ts';
export type {
  ArgusEmulator,
  ArgusEmulatorOptions,
  ConfigurableOptions,
  EmulatorClient,
  EmulatorClock,
  EmulatorUser,
  EndpointName,
  FailurePlan,
  GrantEvent,
  RecordedRequest,
  RejectionStyle,
} from './types.ts';

/**
 * Starts an Argus emulator: one HTTP server on one origin that serves the portal (authorize,
 * login, logout) and the API (token, current user, session, userinfo). It listens on
 * `127.0.0.1` on a free port unless told otherwise; see {@link ArgusEmulatorOptions} for the
 * defaults. Options are validated up front and a wrong one throws a TypeError naming it.
 *
 * @example
 * import { startArgusEmulator, DEMO_CLIENT } from 'passport-argus/emulator';
 *
 * const argus = await startArgusEmulator({ tokenLifetime: 60_000 });
 * passport.use(new ArgusStrategy({
 *   clientID: DEMO_CLIENT.clientID,
 *   clientSecret: DEMO_CLIENT.clientSecret,
 *   callbackURL: 'http://localhost:3000/oauth/callback',
 *   portalURL: argus.portalURL,
 *   apiURL: argus.apiURL,
 * }));
 * // ... later, in a test:
 * argus.clock.advance(61_000); // the access token is now expired
 * await argus.close();
 *
 * @see RFC 6749 §4.1, the authorization code grant it implements.
 */
export async function startArgusEmulator(
  options: ArgusEmulatorOptions = {},
): Promise<ArgusEmulator> {
  const emulator = new RunningEmulator(resolveOptions(options));
  await emulator.listen();
  return emulator;
}
