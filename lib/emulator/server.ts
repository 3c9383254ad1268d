import type { IncomingMessage, ServerResponse } from 'node:http';
import { currentUser, deleteSession, session, userinfo } from './api.ts';
import type { EmulatorContext, Exchange, Handler } from './context.ts';
import { CONTROL_PREFIX } from './control.ts';
import { readBody, redirect, sendEnvelopeError, sendHTML } from './http-util.ts';
import { errorPage } from './pages.ts';
import { authorize, login, portalHome, portalLogout } from './portal.ts';
import { token } from './token-endpoint.ts';
import type { EndpointName } from './types.ts';

/** What one path answers, per method, and under which endpoint name it is recorded. */
type PathRoutes = Readonly<Record<string, readonly [EndpointName | 'other', Handler]>>;

const goToPortal: Handler = (_ctx, ex) => redirect(ex.res, '/spa/');

const ROUTES: Readonly<Record<string, PathRoutes>> = {
  '/': { GET: ['other', goToPortal] },
  '/spa': { GET: ['other', goToPortal] },
  '/spa/': { GET: ['other', portalHome] },
  '/spa/oauth/authorize': { GET: ['authorize', authorize] },
  '/spa/login': { GET: ['login', login], POST: ['login', login] },
  '/spa/logout': { GET: ['portal-logout', portalLogout], POST: ['portal-logout', portalLogout] },
  '/authentication/v1/oauth/token': { POST: ['token', token] },
  '/currentuser/v1/user': { GET: ['currentuser', currentUser] },
  '/authentication/v1/session': {
    GET: ['session', session],
    DELETE: ['session-delete', deleteSession],
  },
  '/authentication/v1/oauth/userinfo': { GET: ['userinfo', userinfo] },
};

/** The routes of a path; a Map-free own-property check keeps `/__proto__` an unknown path. */
function routesOf(path: string): PathRoutes | undefined {
  return Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
}

/** The endpoint name a request is recorded and failed under: by path, then by method. */
export function endpointOf(method: string, path: string): EndpointName | 'other' {
  const routes = routesOf(path);
  if (routes === undefined) return 'other';
  const exact = Object.hasOwn(routes, method) ? routes[method] : undefined;
  return (exact ?? Object.values(routes)[0])?.[0] ?? 'other';
}

/** Answers a request the normal way: 413, 404, 405 or the route's handler. */
export function dispatch(ctx: EmulatorContext, ex: Exchange) {
  const now = ctx.clock.now();
  if (ex.tooLarge) {
    return sendEnvelopeError(ex.res, 413, 'Request body too large (limit 64 KB)', now, {
      connection: 'close',
    });
  }
  const routes = routesOf(ex.path);
  if (routes === undefined) {
    if (ex.path.startsWith('/spa/')) {
      return sendHTML(ex.res, 404, errorPage('Not found', 'There is no such page in the portal.'));
    }
    return sendEnvelopeError(ex.res, 404, 'Not found', now);
  }
  const route = Object.hasOwn(routes, ex.method) ? routes[ex.method] : undefined;
  if (route === undefined) {
    const allow = Object.keys(routes).join(', ');
    return sendEnvelopeError(ex.res, 405, `Method not allowed; use ${allow}`, now, { allow });
  }
  route[1](ctx, ex);
}

/** Splits a request target into the raw path and raw query, without normalising either. */
export function splitTarget(url: string | undefined): { path: string; query: string } {
  const target = url ?? '/';
  const mark = target.indexOf('?');
  return mark === -1
    ? { path: target, query: '' }
    : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/** Reads the whole request into an {@link Exchange}. */
export async function readExchange(req: IncomingMessage, res: ServerResponse): Promise<Exchange> {
  const { path, query } = splitTarget(req.url);
  const { body, tooLarge } = await readBody(req);
  return {
    req,
    res,
    method: req.method ?? 'GET',
    path,
    query,
    body,
    bodyText: body.toString('utf8'),
    tooLarge,
  };
}

/** Whether a path belongs to the control API. */
export function isControlPath(path: string): boolean {
  return path.startsWith(CONTROL_PREFIX);
}
