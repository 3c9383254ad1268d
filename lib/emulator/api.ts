import type { EmulatorContext, Exchange } from './context.ts';
import { envelope, normaliseIP, sendEnvelopeError, sendJSON } from './http-util.ts';
import type { ResolvedUser } from './options.ts';
import type { TokenInfo } from './state.ts';

/**
 * The API endpoints behind a bearer token: the current user, the session, userinfo and logout.
 */

/** The valid token of the request, or undefined after answering 401. */
function authenticate(ctx: EmulatorContext, ex: Exchange): TokenInfo | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(ex.req.headers.authorization ?? '');
  const info = match?.[1] === undefined ? undefined : ctx.state.tokenInfo(match[1]);
  if (info === undefined) {
    sendEnvelopeError(ex.res, 401, 'Authentication required / session not valid', ctx.clock.now(), {
      'www-authenticate': 'Bearer realm="argus"',
    });
  }
  return info;
}

function ok(ex: Exchange, data: unknown): void {
  sendJSON(ex.res, 200, envelope(200, data));
}

/** An Argus user object. */
function userObject(user: ResolvedUser) {
  return {
    id: user.id,
    userName: user.userName,
    name: user.name,
    type: 'user',
    customerID: user.customer.id,
    customer: {
      id: user.customer.id,
      name: user.customer.name,
      shortName: user.customer.shortName,
      domain: { id: user.domain.id, name: user.domain.name },
    },
    domain: { id: user.domain.id, name: user.domain.name },
    email: user.email ?? null,
  };
}

/** `GET /currentuser/v1/user`. */
export function currentUser(ctx: EmulatorContext, ex: Exchange): void {
  const info = authenticate(ctx, ex);
  if (info !== undefined) ok(ex, userObject(info.user));
}

/** `GET /authentication/v1/session`: 200 while the session is valid. */
export function session(ctx: EmulatorContext, ex: Exchange): void {
  const info = authenticate(ctx, ex);
  if (info === undefined) return;
  ok(ex, {
    userName: info.user.userName,
    sessionType: 'oauth',
    clientID: info.grant.clientID,
    expires: info.expiresAt,
  });
}

/** `DELETE /authentication/v1/session`: ends the OAuth session everywhere. */
export function deleteSession(ctx: EmulatorContext, ex: Exchange): void {
  const info = authenticate(ctx, ex);
  if (info === undefined) return;
  ctx.state.endGrant(info.grant.id, 'session_delete');
  ok(ex, null);
}

/**
 * `GET /authentication/v1/oauth/userinfo`: flat OpenID Connect claims chosen by the scope of the
 * grant. Argus compares the forwarded end-user IP with the one the token was created for.
 */
export function userinfo(ctx: EmulatorContext, ex: Exchange) {
  const info = authenticate(ctx, ex);
  if (info === undefined) return;
  if (ctx.settings().checkClientIP) {
    const raw = ex.req.headers['x-forwarded-for'];
    const header = Array.isArray(raw) ? raw.join(', ') : raw;
    if (header === undefined || header.trim() === '') {
      return sendEnvelopeError(ex.res, 400, 'X-Forwarded-For required', ctx.clock.now());
    }
    // The first address of the list is the end user; proxies append theirs after it.
    const forwarded = normaliseIP(header.split(',')[0]);
    if (forwarded !== info.grant.browserIP) {
      return sendEnvelopeError(
        ex.res,
        401,
        'The client IP does not match the IP the session was created for',
        ctx.clock.now(),
      );
    }
  }
  sendJSON(ex.res, 200, claims(info.user, info.grant.scope));
}

/** Claims by scope word; with no scope at all, the profile, customer and email claims. */
function claims(user: ResolvedUser, scope: string | undefined): Record<string, unknown> {
  const words = new Set(
    scope === undefined ? ['profile', 'customer', 'email'] : scope.split(' ').filter(Boolean),
  );
  const out: Record<string, unknown> = { sub: String(user.id), username: user.userName };
  if (words.has('profile')) out.name = user.name;
  if (words.has('customer')) {
    out.customer_id = user.customer.id;
    out.domain_id = user.domain.id;
    out.customer_shortname = user.customer.shortName;
    out.customer_name = user.customer.name;
  }
  if (words.has('email') && user.email !== undefined) out.email = user.email;
  if (words.has('groups')) out.groups = [...user.groups];
  return out;
}
