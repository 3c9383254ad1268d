import { validateHeaderValue } from 'node:http';
import type { EndpointName, FailurePlan } from './types.ts';

/** Every endpoint name, for validation. */
export const ENDPOINT_NAMES: readonly EndpointName[] = Object.freeze([
  'authorize',
  'login',
  'portal-logout',
  'token',
  'currentuser',
  'session',
  'session-delete',
  'userinfo',
]);

const PLAN_KEYS = new Set([
  'times',
  'during',
  'status',
  'body',
  'contentType',
  'delay',
  'hang',
  'reset',
  'truncate',
  'hugeBody',
  'redirect',
  'drip',
]);

function fail(message: string): never {
  throw new TypeError(`Argus emulator: failNext: ${message}`);
}

/**
 * A plan value that goes into a response header (`content-type`, `location`). Node's own rule
 * decides, checked now: a value it refuses would otherwise throw when the answer is written,
 * which for a delayed answer happens in a timer, outside any request handler.
 */
function headerSafe(value: unknown, name: string, header: string): string {
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`);
  try {
    validateHeaderValue(header, value);
  } catch {
    fail(
      `${name} must be a valid HTTP header value (no line breaks or control characters, ` +
        'and no characters above U+00FF)',
    );
  }
  return value;
}

/**
 * Checks an endpoint name and a plan, and returns a frozen copy of the plan. Everything that
 * could make the answer fail to write is refused here, as a TypeError naming the field.
 */
export function validatePlan(endpoint: unknown, plan: unknown): FailurePlan {
  if (typeof endpoint !== 'string' || !(ENDPOINT_NAMES as string[]).includes(endpoint)) {
    fail(`endpoint must be one of ${ENDPOINT_NAMES.join(', ')}`);
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
    fail('plan must be an object');
  }
  const input = plan as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!PLAN_KEYS.has(key)) fail(`unknown plan field ${key}`);
  }
  const out: FailurePlan = {};
  const { times, during, status, body, contentType, delay, hugeBody, redirect } = input;
  if (times !== undefined) {
    if (!Number.isSafeInteger(times) || (times as number) < 1) {
      fail('times must be a positive integer');
    }
    out.times = times as number;
  }
  if (during !== undefined) {
    if (typeof during !== 'number' || !Number.isFinite(during) || during <= 0) {
      fail('during must be a number of milliseconds, more than 0');
    }
    out.during = during;
  }
  if (status !== undefined) {
    if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) {
      fail('status must be an HTTP status from 200 to 599');
    }
    out.status = status as number;
  }
  if (body !== undefined) {
    if (typeof body !== 'string') fail('body must be a string');
    out.body = body;
  }
  if (contentType !== undefined)
    out.contentType = headerSafe(contentType, 'contentType', 'content-type');
  if (delay !== undefined) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      fail('delay must be a number of milliseconds, 0 or more');
    }
    out.delay = delay;
  }
  for (const flag of ['hang', 'reset', 'truncate', 'drip'] as const) {
    if (input[flag] === undefined) continue;
    if (typeof input[flag] !== 'boolean') fail(`${flag} must be true or false`);
    if (input[flag]) out[flag] = true;
  }
  if (hugeBody !== undefined) {
    if (!Number.isSafeInteger(hugeBody) || (hugeBody as number) < 1) {
      fail('hugeBody must be a positive integer number of bytes');
    }
    out.hugeBody = hugeBody as number;
  }
  if (redirect !== undefined) out.redirect = headerSafe(redirect, 'redirect', 'location');
  const modes = (['hang', 'reset', 'truncate', 'hugeBody', 'redirect', 'drip'] as const).filter(
    (mode) => out[mode] !== undefined,
  );
  if (modes.length > 1) fail(`choose one of ${modes.join(', ')}`);
  const mode = modes[0];
  if (mode === 'redirect') {
    if (out.body !== undefined) fail('redirect takes no body');
    if (out.status !== undefined && (out.status < 300 || out.status > 399)) {
      fail('a redirect status must be from 300 to 399');
    }
  } else if (mode !== undefined && (out.status !== undefined || out.body !== undefined)) {
    fail(`${mode} takes no status or body`);
  }
  return Object.freeze(out);
}
