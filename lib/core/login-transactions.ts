/**
 * Logins under way. Each click on "Log in" is one transaction keyed by its `state`, so
 * several tabs of one browser can log in at once. Transactions are one-time, bounded in
 * number and in age, and kept in the session record, so every app instance sees them.
 *
 * @see RFC 6749 §10.12, RFC 9700 §4.2.4, RFC 7636 §4
 */
import { createHash, randomBytes } from 'node:crypto';
import { isJsonObject } from './http-client.ts';
import { fingerprintOf } from './coordinator.ts';
import { LANDINGS_KEY, LOGINS_KEY, type SessionRecord, readLogins } from './session-record.ts';
import { safeReturnTo } from './urls.ts';

/** One login under way. */
export interface LoginTransaction {
  /** When the login started (ms since the epoch). */
  createdAt: number;
  /** The PKCE verifier; never leaves the server. */
  verifier?: string;
  /** The same-origin path to land on after the login. */
  returnTo?: string;
}

/** What the authorize redirect needs from a new transaction. */
export interface StartedLogin {
  state: string;
  /** base64url(sha256(verifier)), when PKCE is on. */
  codeChallenge?: string;
}

/** 32 random bytes, base64url: 256 bits, 43 characters. */
const TOKEN_BYTES = 32;

/**
 * `count` independent random tokens of {@link TOKEN_BYTES} bytes each, from one call to
 * the CSPRNG: each call costs more than the bytes it returns, and a login needs two.
 */
function randomTokens(count: 1 | 2): string[] {
  const bytes = randomBytes(TOKEN_BYTES * count);
  const tokens: string[] = [];
  for (let at = 0; at < bytes.length; at += TOKEN_BYTES) {
    tokens.push(bytes.toString('base64url', at, at + TOKEN_BYTES));
  }
  return tokens;
}

const STATE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** True when `value` has the shape of a state this package makes. */
export function isWellFormedState(value: string): boolean {
  return STATE_PATTERN.test(value);
}

/** Limits of the transaction list. */
export interface TransactionLimits {
  /** Largest age in ms. */
  maxAge: number;
  /** Most transactions kept at once; the oldest go first. */
  maxCount: number;
}

/**
 * The transaction of one stored login, and its state. Stored logins are a list of
 * records of one shape, `{ state, createdAt, verifier?, returnTo? }`: an object keyed by
 * state (as 0.1 stored them) gives every login a property name never seen before, and a
 * JSON parser builds a new hidden class for each — the session store's parse of that
 * record cost three times that of a record of known keys, on every login's callback.
 */
function parse(value: unknown, stateOf?: string): [string, LoginTransaction] | undefined {
  if (!isJsonObject(value) || typeof value.createdAt !== 'number') return undefined;
  const state = stateOf ?? value.state;
  if (typeof state !== 'string' || !isWellFormedState(state)) return undefined;
  const txn: LoginTransaction = { createdAt: value.createdAt };
  if (typeof value.verifier === 'string') txn.verifier = value.verifier;
  const returnTo = safeReturnTo(value.returnTo);
  if (returnTo !== undefined) txn.returnTo = returnTo;
  return [state, txn];
}

/** The live transactions of a session, oldest first, expired ones dropped. */
function live(
  session: SessionRecord,
  now: number,
  limits: TransactionLimits,
): [string, LoginTransaction][] {
  const stored = readLogins(session);
  if (stored === undefined) return [];
  const entries: [string, LoginTransaction][] = [];
  const keep = (entry: [string, LoginTransaction] | undefined) => {
    if (entry !== undefined && now - entry[1].createdAt < limits.maxAge) entries.push(entry);
  };
  if (Array.isArray(stored)) for (const value of stored) keep(parse(value));
  // A record written by 0.1, keyed by state: a login under way across the upgrade.
  else for (const state of Object.keys(stored)) keep(parse(stored[state], state));
  return entries.sort((a, b) => a[1].createdAt - b[1].createdAt);
}

/** A stored login: its state first, then its transaction, always in this order of keys. */
function storedLogin(state: string, txn: LoginTransaction): Record<string, unknown> {
  const record: Record<string, unknown> = { state, createdAt: txn.createdAt };
  if (txn.verifier !== undefined) record.verifier = txn.verifier;
  if (txn.returnTo !== undefined) record.returnTo = txn.returnTo;
  return record;
}

function store(session: SessionRecord, entries: [string, LoginTransaction][]): void {
  if (entries.length === 0) {
    delete session[LOGINS_KEY];
    return;
  }
  session[LOGINS_KEY] = entries.map(([state, txn]) => storedLogin(state, txn));
}

/**
 * Starts a login: makes a state (and a PKCE verifier), and stores the transaction in the
 * session, dropping expired ones and the oldest past `maxCount`.
 */
export function startLogin(
  session: SessionRecord,
  options: { pkce: boolean; returnTo: string | undefined; now: number; limits: TransactionLimits },
): StartedLogin {
  const [state, verifier] = randomTokens(options.pkce ? 2 : 1) as [string, string?];
  const txn: LoginTransaction = { createdAt: options.now };
  const started: StartedLogin = { state };
  if (verifier !== undefined) {
    txn.verifier = verifier;
    started.codeChallenge = createHash('sha256').update(verifier).digest('base64url');
  }
  const returnTo = safeReturnTo(options.returnTo);
  if (returnTo !== undefined) txn.returnTo = returnTo;
  const entries = live(session, options.now, options.limits);
  entries.push([state, txn]);
  store(session, entries.slice(-options.limits.maxCount));
  return started;
}

/**
 * The transaction of `state` in the session, when it is there and not expired, without
 * taking it out: a callback first claims the state across instances, then consumes it.
 */
export function findLogin(
  session: SessionRecord,
  state: string,
  now: number,
  limits: TransactionLimits,
): LoginTransaction | undefined {
  return live(session, now, limits).find(([key]) => key === state)?.[1];
}

/**
 * Takes the transaction of `state` out of the session, so that a replayed callback finds
 * nothing. Returns it when it was there and not expired.
 */
export function consumeLogin(
  session: SessionRecord,
  state: string,
  now: number,
  limits: TransactionLimits,
): LoginTransaction | undefined {
  const entries = live(session, now, limits);
  const index = entries.findIndex(([key]) => key === state);
  if (index === -1) {
    store(session, entries);
    return undefined;
  }
  const [, txn] = entries.splice(index, 1)[0] as [string, LoginTransaction];
  store(session, entries);
  return txn;
}

/** Where another tab's login lands if its callback arrives after the user logged in. */
export interface Landing {
  createdAt: number;
  returnTo?: string;
}

/**
 * The landing pages of the logins still under way in `session` other than `completed`:
 * what the logged-in session keeps of them, as a list of `{ key, createdAt, returnTo? }`
 * where `key` is a fingerprint of the state. Their verifiers stay behind, so none of them
 * can complete a login (or switch the user) in the logged-in session.
 */
export function landingsOf(
  session: SessionRecord,
  completed: string,
  now: number,
  limits: TransactionLimits,
): StoredLanding[] | undefined {
  const landings: StoredLanding[] = [];
  for (const [state, txn] of live(session, now, limits)) {
    if (state === completed) continue;
    const landing: StoredLanding = { key: fingerprintOf(state), createdAt: txn.createdAt };
    if (txn.returnTo !== undefined) landing.returnTo = txn.returnTo;
    landings.push(landing);
  }
  return landings.length === 0 ? undefined : landings;
}

/** A landing as the session stores it: {@link Landing} and the fingerprint of its state. */
export interface StoredLanding extends Landing {
  /** A fingerprint of the login's state (never the state itself). */
  key: string;
}

/** A stored landing of a valid shape, as read from the session: unchecked but for its time. */
type LandingEntry = Record<string, unknown> & { createdAt: number };

/** A stored landing of a valid shape: an object with a numeric `createdAt`. */
function isLanding(value: unknown): value is LandingEntry {
  return isJsonObject(value) && typeof value.createdAt === 'number';
}

/** The stored landings as a list; 0.1 kept them in an object keyed by fingerprint. */
function landingList(stored: unknown): unknown[] | undefined {
  if (Array.isArray(stored)) return stored;
  if (!isJsonObject(stored)) return undefined;
  return Object.keys(stored).map((key) => {
    const value = stored[key];
    return isJsonObject(value) ? { ...value, key } : value;
  });
}

/** Takes the landing of `state` out of the session: where its late callback goes. */
export function takeLanding(
  session: SessionRecord,
  state: string,
  now: number,
  limits: TransactionLimits,
): Landing | undefined {
  const list = landingList(session[LANDINGS_KEY]);
  if (list === undefined) return undefined;
  const key = fingerprintOf(state);
  // Entries of another shape are passed over, so that junk under the same key cannot hide
  // a landing.
  const index = list.findIndex((entry) => isLanding(entry) && entry.key === key);
  if (index === -1) return undefined;
  const value = list.splice(index, 1)[0] as LandingEntry;
  if (list.length === 0) delete session[LANDINGS_KEY];
  else session[LANDINGS_KEY] = list;
  if (now - value.createdAt >= limits.maxAge) return undefined;
  const landing: Landing = { createdAt: value.createdAt };
  const returnTo = safeReturnTo(value.returnTo);
  if (returnTo !== undefined) landing.returnTo = returnTo;
  return landing;
}
