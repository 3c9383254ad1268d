import type { Exchange } from './context.ts';
import { type ControlPolicy, refusal } from './control-guard.ts';
import { parseParams, sendJSON } from './http-util.ts';
import type { ArgusEmulator, ConfigurableOptions, EndpointName } from './types.ts';

/**
 * The HTTP face of the test controls, for tests that drive a browser and cannot reach the
 * emulator object. Every route calls the public method of the same name, so both behave alike.
 */

/** Where the control routes live. */
export const CONTROL_PREFIX = '/__emulator/';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON body of a control request; an empty body is `{}`. */
function jsonBody(ex: Exchange): Record<string, unknown> {
  if (ex.bodyText.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(ex.bodyText);
  } catch {
    throw new TypeError('the body must be JSON');
  }
  if (!isRecord(value)) throw new TypeError('the body must be a JSON object');
  return value;
}

/** `POST /__emulator/clock` with `{"advance":ms}` or `{"set":epochMs}`; answers the new time. */
function clock(emulator: ArgusEmulator, ex: Exchange): void {
  const body = jsonBody(ex);
  if (body.advance !== undefined && body.set !== undefined) {
    throw new TypeError('send either advance or set');
  }
  if (body.advance !== undefined) {
    emulator.clock.advance(body.advance as number);
  } else if (body.set !== undefined) {
    emulator.clock.set(body.set as number);
  } else if (Object.keys(body).length > 0) {
    throw new TypeError('send {"advance":ms} or {"set":epochMs}');
  }
  sendJSON(ex.res, 200, { now: emulator.clock.now() });
}

/** One control route: its method and what it does. */
type Route = readonly [method: string, run: (emulator: ArgusEmulator, ex: Exchange) => void];

const ROUTES: Record<string, Route> = {
  clock: ['POST', clock],
  fail: [
    'POST',
    (emulator, ex) => {
      const { endpoint, ...plan } = jsonBody(ex);
      emulator.failNext(endpoint as EndpointName, plan);
      sendJSON(ex.res, 200, { ok: true });
    },
  ],
  requests: ['GET', (emulator, ex) => sendJSON(ex.res, 200, emulator.requests)],
  'requests/clear': [
    'POST',
    (emulator, ex) => {
      emulator.clearRequests();
      sendJSON(ex.res, 200, { ok: true });
    },
  ],
  reset: [
    'POST',
    (emulator, ex) => {
      emulator.reset();
      sendJSON(ex.res, 200, { ok: true });
    },
  ],
  configure: [
    'POST',
    (emulator, ex) => {
      emulator.configure(jsonBody(ex) as ConfigurableOptions);
      sendJSON(ex.res, 200, { ok: true });
    },
  ],
  'grant-events': [
    'GET',
    (emulator, ex) => sendJSON(ex.res, 200, { events: emulator.grantEvents() }),
  ],
  grants: [
    'GET',
    (emulator, ex) => {
      const user = parseParams(ex.query)?.get('user')?.[0];
      sendJSON(ex.res, 200, { active: emulator.activeGrants(user) });
    },
  ],
};

/** The path segment decoded, or undefined when its % escapes are malformed. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function findRoute(name: string): Route | undefined {
  if (Object.hasOwn(ROUTES, name)) return ROUTES[name];
  const logout = /^users\/([^/]+)\/logout$/.exec(name);
  if (logout?.[1] === undefined) return undefined;
  const userName = decodeSegment(logout[1]);
  return [
    'POST',
    (emulator, ex) => {
      if (userName === undefined || !emulator.users.some((u) => u.userName === userName)) {
        return sendJSON(ex.res, 404, { error: 'no such user' });
      }
      emulator.logoutUser(userName);
      sendJSON(ex.res, 200, { ok: true });
    },
  ];
}

/** Answers a request under {@link CONTROL_PREFIX}, once the policy lets it through. */
export function control(emulator: ArgusEmulator, ex: Exchange, policy: ControlPolicy) {
  const refused = refusal(ex.req, policy);
  if (refused !== undefined) return sendJSON(ex.res, refused.status, { error: refused.error });
  const route = findRoute(ex.path.slice(CONTROL_PREFIX.length));
  if (route === undefined) return sendJSON(ex.res, 404, { error: 'no such control endpoint' });
  const [method, run] = route;
  if (ex.method !== method) {
    return sendJSON(ex.res, 405, { error: `use ${method}` }, { allow: method });
  }
  try {
    run(emulator, ex);
  } catch (error) {
    // Bad input to a control is the caller's mistake: say what was wrong, keep running.
    if (!(error instanceof TypeError)) throw error;
    sendJSON(ex.res, 400, { error: error.message.replace(/^Argus emulator: /, '') });
  }
}
