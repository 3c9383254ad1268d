import {
  DEFAULT_MAX_RECORDED_BYTES,
  DEFAULT_MAX_RECORDED_REQUESTS,
  MIN_MAX_RECORDED_BYTES,
} from './recording.ts';
import type {
  ArgusEmulatorOptions,
  ConfigurableOptions,
  EmulatorClient,
  EmulatorUser,
  RejectionStyle,
} from './types.ts';

const DEMO_CUSTOMER = Object.freeze({ id: 1, name: 'Demo Customer AS', shortName: 'demo' });
const DEMO_DOMAIN = Object.freeze({ id: 1, name: 'mnemonic' });

/**
 * The users of the emulator when none are given: `alice` / `alice-password` (Alice Anderson)
 * and `bob` / `bob-password` (Bob Berg), both of the demo customer.
 *
 * @example
 * const [alice] = DEMO_USERS; // alice.userName === 'alice'
 */
export const DEMO_USERS: readonly EmulatorUser[] = Object.freeze([
  Object.freeze({
    userName: 'alice',
    password: 'alice-password',
    name: 'Alice Anderson',
    id: 1001,
    email: 'alice@demo.example',
    customer: DEMO_CUSTOMER,
    domain: DEMO_DOMAIN,
    groups: Object.freeze(['analysts']) as string[],
  }),
  Object.freeze({
    userName: 'bob',
    password: 'bob-password',
    name: 'Bob Berg',
    id: 1002,
    email: 'bob@demo.example',
    customer: DEMO_CUSTOMER,
    domain: DEMO_DOMAIN,
    groups: Object.freeze([] as string[]) as string[],
  }),
]);

/**
 * The client of the emulator when none is given. Its redirect URIs are the usual local
 * callback on port 3000, by name and by address.
 *
 * @example
 * new ArgusStrategy({
 *   clientID: DEMO_CLIENT.clientID,
 *   clientSecret: DEMO_CLIENT.clientSecret,
 *   callbackURL: 'http://localhost:3000/oauth/callback',
 * });
 */
export const DEMO_CLIENT: EmulatorClient = Object.freeze({
  clientID: '5b3c2f0e-8a51-4c8e-9d43-6a2f1e7c9b10',
  clientSecret: 'demo-client-secret',
  redirectUris: Object.freeze([
    'http://localhost:3000/oauth/callback',
    'http://127.0.0.1:3000/oauth/callback',
  ]) as string[],
});

/** A user with every field filled in, as the emulator serves it. */
export interface ResolvedUser {
  readonly userName: string;
  readonly password: string;
  readonly name: string;
  readonly id: number;
  readonly email: string | undefined;
  readonly customer: { readonly id: number; readonly name: string; readonly shortName: string };
  readonly domain: { readonly id: number; readonly name: string };
  /** Frozen at run time. */
  readonly groups: string[];
}

/** The options that may change while the emulator runs, fully defaulted. */
export interface Settings {
  readonly tokenLifetime: number;
  readonly codeLifetime: number;
  readonly issueRefreshTokens: boolean;
  readonly refreshTimeout: number | null;
  readonly rotateRefreshTokens: boolean;
  readonly reuseDetection: boolean;
  readonly rejection: RejectionStyle;
  readonly deniedUser: 'page' | 'redirect';
  readonly checkClientIP: boolean;
}

/** Every option, validated, defaulted and frozen. */
export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly users: readonly ResolvedUser[];
  readonly clients: readonly EmulatorClient[];
  readonly settings: Settings;
  readonly controlAPI: boolean;
  /** Extra host names the control API answers to, lower-cased. */
  readonly controlHosts: readonly string[];
  readonly controlToken: string | undefined;
  readonly maxRecordedRequests: number;
  readonly maxRecordedBytes: number;
  readonly quiet: boolean;
}

const DEFAULT_SETTINGS: Settings = Object.freeze({
  tokenLifetime: 300_000,
  codeLifetime: 60_000,
  issueRefreshTokens: true,
  refreshTimeout: null,
  rotateRefreshTokens: false,
  reuseDetection: true,
  rejection: 'invalid_grant',
  deniedUser: 'page',
  checkClientIP: true,
});

const SETTING_NAMES = Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[];

const OPTION_NAMES = new Set<string>([
  ...SETTING_NAMES,
  'port',
  'host',
  'users',
  'clients',
  'controlAPI',
  'controlHosts',
  'controlToken',
  'maxRecordedRequests',
  'maxRecordedBytes',
  'quiet',
]);

function fail(message: string): never {
  throw new TypeError(`Argus emulator: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`);
  return value;
}

function positiveDuration(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(`${name} must be a positive number of milliseconds`);
  }
  return value;
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') fail(`${name} must be true or false`);
  return value;
}

function validateSetting(name: keyof Settings, value: unknown): Settings[keyof Settings] {
  switch (name) {
    case 'tokenLifetime':
    case 'codeLifetime':
      return positiveDuration(value, name);
    case 'refreshTimeout':
      return value === null ? null : positiveDuration(value, name);
    case 'issueRefreshTokens':
    case 'rotateRefreshTokens':
    case 'reuseDetection':
    case 'checkClientIP':
      return boolean(value, name);
    case 'rejection':
      if (value !== 'invalid_grant' && value !== 401 && value !== 403) {
        fail(`rejection must be 'invalid_grant', 401 or 403`);
      }
      return value;
    case 'deniedUser':
      if (value !== 'page' && value !== 'redirect') fail(`deniedUser must be 'page' or 'redirect'`);
      return value;
  }
}

/**
 * Applies a {@link ConfigurableOptions} change to `base` and returns the new frozen settings.
 * Unknown names and bad values throw a TypeError naming the option, and nothing changes.
 */
export function applySettings(base: Settings, change: unknown): Settings {
  if (!isRecord(change)) fail('configure() takes an object of options');
  const next: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(change)) {
    if (!(SETTING_NAMES as string[]).includes(name)) {
      fail(`${name} cannot be configured; configurable options are ${SETTING_NAMES.join(', ')}`);
    }
    if (value === undefined) continue;
    next[name] = validateSetting(name as keyof Settings, value);
  }
  return Object.freeze(next) as unknown as Settings;
}

function resolveUsers(value: unknown): ResolvedUser[] {
  if (!Array.isArray(value) || value.length === 0) fail('users must be a non-empty array');
  const seenNames = new Set<string>();
  const seenIds = new Set<number>();
  for (const user of value) {
    if (isRecord(user) && typeof user.id === 'number') seenIds.add(user.id);
  }
  let nextId = 1001;
  return value.map((user: unknown, index) => {
    const at = `users[${index}]`;
    if (!isRecord(user)) fail(`${at} must be an object`);
    const userName = nonEmptyString(user.userName, `${at}.userName`);
    if (seenNames.has(userName)) fail(`${at}.userName '${userName}' appears twice`);
    seenNames.add(userName);
    if (typeof user.password !== 'string') fail(`${at}.password must be a string`);
    const name = nonEmptyString(user.name, `${at}.name`);
    let id: number;
    if (user.id === undefined) {
      while (seenIds.has(nextId)) nextId++;
      id = nextId;
      seenIds.add(id);
    } else if (typeof user.id === 'number' && Number.isSafeInteger(user.id) && user.id > 0) {
      id = user.id;
    } else {
      fail(`${at}.id must be a positive integer`);
    }
    if (user.email !== undefined && typeof user.email !== 'string') {
      fail(`${at}.email must be a string`);
    }
    const customer = user.customer === undefined ? DEMO_CUSTOMER : user.customer;
    if (
      !isRecord(customer) ||
      typeof customer.id !== 'number' ||
      typeof customer.name !== 'string' ||
      typeof customer.shortName !== 'string'
    ) {
      fail(`${at}.customer must be { id: number, name: string, shortName: string }`);
    }
    const domain = user.domain === undefined ? DEMO_DOMAIN : user.domain;
    if (!isRecord(domain) || typeof domain.id !== 'number' || typeof domain.name !== 'string') {
      fail(`${at}.domain must be { id: number, name: string }`);
    }
    const groups = user.groups === undefined ? [] : user.groups;
    if (!Array.isArray(groups) || !groups.every((group) => typeof group === 'string')) {
      fail(`${at}.groups must be an array of strings`);
    }
    return Object.freeze({
      userName,
      password: user.password,
      name,
      id,
      email: user.email,
      customer: Object.freeze({
        id: customer.id,
        name: customer.name,
        shortName: customer.shortName,
      }),
      domain: Object.freeze({ id: domain.id, name: domain.name }),
      groups: Object.freeze([...(groups as string[])]) as string[],
    });
  });
}

function checkRedirectUri(value: unknown, name: string): string {
  const uri = nonEmptyString(value, name);
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    fail(`${name} must be an absolute URL, got '${uri}'`);
  }
  // It goes into a Location header as it is, so it must already be encoded.
  if (!/^[\x21-\x7e]+$/.test(uri))
    fail(`${name} must be ASCII without spaces (percent-encode the rest)`);
  // RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
  if (parsed.hash !== '' || uri.includes('#')) fail(`${name} must not have a #fragment`);
  return uri;
}

function resolveClients(value: unknown, users: readonly ResolvedUser[]): EmulatorClient[] {
  if (!Array.isArray(value) || value.length === 0) fail('clients must be a non-empty array');
  const userNames = new Set(users.map((user) => user.userName));
  const seen = new Set<string>();
  return value.map((client: unknown, index) => {
    const at = `clients[${index}]`;
    if (!isRecord(client)) fail(`${at} must be an object`);
    const clientID = nonEmptyString(client.clientID, `${at}.clientID`);
    if (seen.has(clientID)) fail(`${at}.clientID '${clientID}' appears twice`);
    seen.add(clientID);
    const clientSecret = nonEmptyString(client.clientSecret, `${at}.clientSecret`);
    if (!Array.isArray(client.redirectUris) || client.redirectUris.length === 0) {
      fail(`${at}.redirectUris must be a non-empty array of absolute URLs`);
    }
    const redirectUris = client.redirectUris.map((uri: unknown, i) =>
      checkRedirectUri(uri, `${at}.redirectUris[${i}]`),
    );
    const resolved: EmulatorClient = { clientID, clientSecret, redirectUris };
    if (client.permittedUsers !== undefined) {
      if (!Array.isArray(client.permittedUsers)) {
        fail(`${at}.permittedUsers must be an array of user names`);
      }
      for (const name of client.permittedUsers) {
        if (typeof name !== 'string' || !userNames.has(name)) {
          fail(`${at}.permittedUsers names '${String(name)}', who is not one of the users`);
        }
      }
      resolved.permittedUsers = Object.freeze([...client.permittedUsers]) as string[];
    }
    Object.freeze(redirectUris);
    return Object.freeze(resolved);
  });
}

function controlHosts(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('controlHosts must be an array of host names');
  return value.map((host: unknown, index) => {
    const name = nonEmptyString(host, `controlHosts[${index}]`);
    // A name or an address as it appears in a Host header, without scheme, path or port.
    if (!/^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+|[0-9a-f:.]*:[0-9a-f:.]*)$/i.test(name)) {
      fail(`controlHosts[${index}] must be a host name or address without a port, got '${name}'`);
    }
    return name.toLowerCase();
  });
}

function atLeast(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    fail(`${name} must be an integer of at least ${min}`);
  }
  return value as number;
}

function controlToken(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // It is compared with an Authorization header, which carries visible ASCII only.
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value)) {
    fail('controlToken must be a non-empty string of visible ASCII characters');
  }
  return value;
}

/**
 * Turns user options into one frozen, fully defaulted object, without touching the caller's.
 * Throws a TypeError naming the option when a value is wrong.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (!isRecord(options)) fail('options must be an object');
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) fail(`unknown option ${name}`);
  }
  const opts = options as ArgusEmulatorOptions;
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail('port must be an integer from 0 to 65535');
  }
  const host = opts.host === undefined ? '127.0.0.1' : nonEmptyString(opts.host, 'host');
  const users = resolveUsers(opts.users ?? DEMO_USERS);
  const clients = resolveClients(opts.clients ?? [DEMO_CLIENT], users);
  const change: ConfigurableOptions = {};
  for (const name of SETTING_NAMES) {
    if (opts[name] !== undefined) Object.assign(change, { [name]: opts[name] });
  }
  const settings = applySettings(DEFAULT_SETTINGS, change);
  const controlAPI = opts.controlAPI === undefined ? false : boolean(opts.controlAPI, 'controlAPI');
  const hosts = controlHosts(opts.controlHosts);
  const token = controlToken(opts.controlToken);
  if (!controlAPI && (opts.controlHosts !== undefined || token !== undefined)) {
    fail('controlHosts and controlToken need controlAPI: true');
  }
  const quiet = opts.quiet === undefined ? false : boolean(opts.quiet, 'quiet');
  const maxRecordedRequests = atLeast(
    opts.maxRecordedRequests,
    'maxRecordedRequests',
    1,
    DEFAULT_MAX_RECORDED_REQUESTS,
  );
  const maxRecordedBytes = atLeast(
    opts.maxRecordedBytes,
    'maxRecordedBytes',
    MIN_MAX_RECORDED_BYTES,
    DEFAULT_MAX_RECORDED_BYTES,
  );
  return Object.freeze({
    port,
    host,
    users: Object.freeze(users),
    clients: Object.freeze(clients),
    settings,
    controlAPI,
    controlHosts: Object.freeze(hosts),
    controlToken: token,
    maxRecordedRequests,
    maxRecordedBytes,
    quiet,
  });
}
