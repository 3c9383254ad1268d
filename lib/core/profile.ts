/**
 * The Argus user as a passport profile.
 */
import { ArgusError, ArgusErrorCode } from './errors.ts';
import { isJsonObject } from './http-client.ts';

/** A customer or domain reference of an Argus user. */
export interface ArgusOrganisation {
  id: number | string;
  name?: string;
  shortName?: string;
}

/**
 * The logged-in Argus user in passport's profile shape. It holds no token.
 * `_json` is the object Argus answered with.
 */
export interface ArgusProfile {
  provider: 'argus';
  /** The Argus user id, as a string. */
  id: string;
  /** The Argus user name (`userName`, or the `username` claim). */
  username: string;
  /** The display name, falling back to the user name. */
  displayName: string;
  /** The user's e-mail addresses, where Argus tells them. */
  emails?: { value: string }[];
  /** The user's customer, where Argus tells it. */
  customer?: ArgusOrganisation;
  /** The user's domain, where Argus tells it. */
  domain?: ArgusOrganisation;
  /** Groups (userinfo with the `groups` scope). */
  groups?: string[];
  /** What Argus answered. */
  _json: Record<string, unknown>;
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const idOf = (value: unknown): string | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? String(value) : str(value);

function organisation(value: unknown): ArgusOrganisation | undefined {
  if (!isJsonObject(value)) return undefined;
  const id = value.id;
  if (typeof id !== 'number' && typeof id !== 'string') return undefined;
  const org: ArgusOrganisation = { id };
  const name = str(value.name);
  const shortName = str(value.shortName);
  if (name !== undefined) org.name = name;
  if (shortName !== undefined) org.shortName = shortName;
  return org;
}

function invalid(source: string): ArgusError {
  return new ArgusError(
    ArgusErrorCode.BAD_RESPONSE,
    `Argus answered the profile request (${source}) without a user id and user name`,
  );
}

/**
 * Builds a profile from `GET /currentuser/v1/user`'s `data` (`id`, `userName`, `name`,
 * `customer`, `domain`, `email`).
 */
export function profileFromCurrentUser(data: unknown): ArgusProfile {
  if (!isJsonObject(data)) throw invalid('currentuser');
  const id = idOf(data.id);
  const username = str(data.userName);
  if (id === undefined || username === undefined) throw invalid('currentuser');
  const profile: ArgusProfile = {
    provider: 'argus',
    id,
    username,
    displayName: str(data.name) ?? username,
    _json: data,
  };
  const email = str(data.email);
  if (email !== undefined) profile.emails = [{ value: email }];
  const customer = organisation(data.customer);
  if (customer !== undefined) profile.customer = customer;
  const domain =
    organisation(data.domain) ??
    organisation(isJsonObject(data.customer) ? data.customer.domain : undefined);
  if (domain !== undefined) profile.domain = domain;
  return profile;
}

/**
 * Builds a profile from the OpenID Connect userinfo claims (`sub`, `username`, `name`,
 * `email`, `customer_id`, `customer_name`, `customer_shortname`, `domain_id`, `groups`).
 */
export function profileFromUserinfo(claims: unknown): ArgusProfile {
  if (!isJsonObject(claims)) throw invalid('userinfo');
  const username = str(claims.username) ?? str(claims.preferred_username);
  const id = idOf(claims.sub) ?? username;
  if (id === undefined || username === undefined) throw invalid('userinfo');
  const profile: ArgusProfile = {
    provider: 'argus',
    id,
    username,
    displayName: str(claims.name) ?? username,
    _json: claims,
  };
  const email = str(claims.email);
  if (email !== undefined) profile.emails = [{ value: email }];
  const customerId = idOf(claims.customer_id);
  if (customerId !== undefined) {
    const customer: ArgusOrganisation = { id: customerId };
    const name = str(claims.customer_name);
    const shortName = str(claims.customer_shortname);
    if (name !== undefined) customer.name = name;
    if (shortName !== undefined) customer.shortName = shortName;
    profile.customer = customer;
  }
  const domainId = idOf(claims.domain_id);
  if (domainId !== undefined) profile.domain = { id: domainId };
  if (Array.isArray(claims.groups)) {
    profile.groups = claims.groups.filter((g): g is string => typeof g === 'string');
  }
  return profile;
}
