/**
 * The login callback's request and response, as passport hands them to the strategy in
 * Express or koa-passport: its parameters, its path, and the headers and redirects it
 * answers with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionRecord } from './core/session-record.ts';
import { type CallbackQuery, type QueryParams, plainTarget, urlQuery } from './callback-query.ts';

/** The request as passport hands it to a strategy (Express or koa-passport). */
export interface AuthRequest extends IncomingMessage {
  session?: SessionRecord | null;
  originalUrl?: string;
  ip?: string;
  res?: ServerResponse;
  logIn?: LogIn;
  login?: LogIn;
  /** passport's user, once deserialized from the session. */
  user?: unknown;
  /** express-session's store. */
  sessionStore?: unknown;
  /** Express: the request came over https (or through a trusted proxy that says so). */
  secure?: boolean;
  /** koa-passport's requests carry the Koa context (and koa-session's options on it). */
  ctx?: { body: unknown; secure?: boolean; sessionOptions?: { store?: unknown; secure?: unknown } };
}
/** passport's `req.logIn`. */
export type LogIn = (user: unknown, options: unknown, done?: (error?: unknown) => void) => void;

/** The longest `code` or `state` accepted. */
export const MAX_PARAM = 4096;

/** The one value of a parameter; `undefined` when absent, `null` when repeated. */
export function single(params: QueryParams, name: string): string | null | undefined {
  const values = params.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) return null;
  const value = values[0] as string;
  return value === '' || value.length > MAX_PARAM ? null : value;
}

/**
 * True when `path` is the callback's path, as Express routes it by default: in any case,
 * with or without a trailing slash. A bare callback must never start a new login.
 */
export function samePath(path: string, callbackPath: string): boolean {
  return routedPath(path) === routedPath(callbackPath);
}

/**
 * The request's query when the request is a login callback (the callback's path, or any
 * `code`, `state` or `error` parameter: a bare callback must never start a new login);
 * `undefined` when it starts a login. A plain target (a `/login` link, the usual callback)
 * is read without parsing a URL; any other goes through the URL parser.
 */
export function callbackRequestQuery(
  req: AuthRequest,
  callbackPath: string,
): CallbackQuery | undefined {
  const raw = req.originalUrl ?? req.url ?? '/';
  const plain = plainTarget(raw);
  let path: string;
  let query: CallbackQuery;
  if (plain !== undefined) {
    ({ path, query } = plain);
  } else {
    const url = new URL(raw, 'http://request.invalid');
    path = url.pathname;
    query = urlQuery(url);
  }
  const params = query.params;
  return samePath(path, callbackPath) ||
    params.has('code') ||
    params.has('state') ||
    params.has('error')
    ? query
    : undefined;
}

/** `path` as Express's default routing compares it: lower case, without a trailing slash. */
function routedPath(path: string): string {
  return (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
}

/** The callback's redirect as the framework would write it, minus the body it adds. */
type Redirect = (statusOrUrl: number | string, url?: string) => void;

/**
 * Express's `res.redirect` writes a small "Redirecting to …" body. The callback's redirects
 * (success and failure, sent by passport) carry none: nothing a cache or a log could keep.
 * The framework's own `res.location` still sets the header, so its URL encoding applies.
 */
export function bodylessRedirects(req: AuthRequest): void {
  const res = req.res as (ServerResponse & { redirect?: unknown; location?: unknown }) | undefined;
  if (res === undefined || typeof res.redirect !== 'function') return;
  const location = res.location;
  // Assigned where it is made (see CONTRIBUTING.md, Code).
  res.redirect = ((statusOrUrl, url) => {
    const status = typeof statusOrUrl === 'number' ? statusOrUrl : 302;
    const target = String(typeof statusOrUrl === 'number' ? url : statusOrUrl);
    if (typeof location === 'function') location.call(res, target);
    else res.setHeader('Location', target);
    res.statusCode = status;
    res.setHeader('Content-Length', '0');
    // koa-passport's stand-in response cannot end with an empty body; Koa would add its status text.
    if (req.ctx !== undefined) req.ctx.body = '';
    res.end();
  }) satisfies Redirect;
}

/**
 * True when the session cookie is `secure` but the request came over plain http: the
 * browser would drop the cookie (express-session does not even send it; koa-session
 * throws), and the login's callback would find no login under way.
 */
export function secureCookieOverHttp(req: AuthRequest): boolean {
  if (req.ctx !== undefined)
    return req.ctx.sessionOptions?.secure === true && req.ctx.secure !== true;
  const cookie = (req.session as { cookie?: { secure?: unknown } } | null | undefined)?.cookie;
  return cookie?.secure === true && req.secure !== true;
}

/**
 * True for an Express session kept in the cookie itself (cookie-session): express-session
 * always puts its store on the request; koa-passport's requests carry the Koa context.
 */
export function isCookieOnlyExpressSession(req: AuthRequest): boolean {
  return req.ctx === undefined && req.sessionStore === undefined;
}

/** The login redirects carry state and codes: no cache may keep them or leak them onward. */
export function noStore(req: AuthRequest): void {
  const res = req.res;
  if (res === undefined || res.headersSent) return;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Referrer-Policy', 'no-referrer');
}
