import type { EmulatorContext, Exchange } from './context.ts';
import {
  appendQuery,
  mediaType,
  normaliseIP,
  type Params,
  param,
  parseParams,
  readCookie,
  redirect,
  repeatedParam,
  secretsEqual,
  sendHTML,
} from './http-util.ts';
import { deniedPage, errorPage, homePage, loggedOutPage, loginPage } from './pages.ts';

/** The portal login cookie. */
export const PORTAL_COOKIE = 'argus_portal';

const AUTHORIZE_PATH = '/spa/oauth/authorize';

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const CODE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;

function portalSessionId(ex: Exchange): string | undefined {
  return readCookie(ex.req.headers.cookie, PORTAL_COOKIE);
}

function badRequestPage(ex: Exchange, message: string): void {
  sendHTML(ex.res, 400, errorPage('Invalid authorization request', message));
}

/**
 * `GET /spa/oauth/authorize`. Until the client and redirect URI are known to be good, errors are
 * pages and never redirects, so the portal cannot be used to bounce a browser to an unknown
 * address (RFC 6749 §4.1.2.1). After that, protocol errors go back to the client.
 */
export function authorize(ctx: EmulatorContext, ex: Exchange) {
  const params = parseParams(ex.query);
  if (params === undefined) return badRequestPage(ex, 'The query has a malformed % escape.');
  const repeated = repeatedParam(params);
  if (repeated !== undefined) {
    return badRequestPage(ex, `The parameter ${repeated} appears more than once.`);
  }
  const clientID = param(params, 'client_id');
  const client = clientID === undefined ? undefined : ctx.clients.get(clientID);
  if (clientID === undefined || client === undefined) {
    return badRequestPage(ex, 'The client_id is missing or not a registered client.');
  }
  const redirectUri = param(params, 'redirect_uri');
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return badRequestPage(
      ex,
      'The redirect_uri is missing or not exactly one of the redirect URIs registered for this client.',
    );
  }
  const state = param(params, 'state');
  const back = (error: string, description: string) =>
    redirect(ex.res, appendQuery(redirectUri, { error, error_description: description, state }));

  const responseType = param(params, 'response_type');
  if (responseType === undefined) return back('invalid_request', 'response_type is required');
  if (responseType !== 'code') {
    return back('unsupported_response_type', 'Only response_type=code is supported');
  }
  const codeChallenge = checkChallenge(params);
  if (typeof codeChallenge === 'object') return back('invalid_request', codeChallenge.error);

  const portalSession = portalSessionId(ex);
  const user = ctx.state.portalUser(portalSession);
  if (user === undefined) {
    const returnTo = `${ex.path}${ex.query === '' ? '' : `?${ex.query}`}`;
    return redirect(ex.res, `/spa/login?return=${encodeURIComponent(returnTo)}`);
  }
  if (client.permittedUsers !== undefined && !client.permittedUsers.includes(user.userName)) {
    if (ctx.settings().deniedUser === 'redirect') {
      return back('access_denied', 'The user is not permitted to use this client');
    }
    return sendHTML(ex.res, 403, deniedPage(user, client.clientID));
  }
  const code = ctx.state.createCode({
    clientID: client.clientID,
    redirectUri,
    codeChallenge,
    scope: param(params, 'scope'),
    userName: user.userName,
    portalSession: portalSession ?? '',
    browserIP: normaliseIP(ex.req.socket.remoteAddress),
  });
  redirect(ex.res, appendQuery(redirectUri, { code, state }));
}

/** The PKCE challenge of an authorize request, or the reason it is refused (RFC 7636 §4.3). */
function checkChallenge(params: Params): string | undefined | { error: string } {
  const challenge = param(params, 'code_challenge');
  const method = param(params, 'code_challenge_method');
  if (challenge === undefined) {
    return method === undefined
      ? undefined
      : { error: 'code_challenge_method without code_challenge' };
  }
  // A missing method means "plain" (RFC 7636 §4.3), which this server does not allow.
  if (method !== 'S256') return { error: 'code_challenge_method must be S256' };
  if (!CODE_CHALLENGE.test(challenge)) {
    return { error: 'code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]' };
  }
  return challenge;
}

/** Where a successful login goes: back into an authorize request, else the portal start page. */
function safeReturn(returnTo: string | undefined): string {
  // Printable ASCII only keeps the Location header well-formed.
  if (returnTo?.startsWith(`${AUTHORIZE_PATH}?`) && /^[\x21-\x7e]+$/.test(returnTo)) {
    return returnTo;
  }
  return '/spa/';
}

/** `GET /spa/login` shows the form; `POST /spa/login` checks it. */
export function login(ctx: EmulatorContext, ex: Exchange) {
  if (ex.method === 'GET') {
    const params = parseParams(ex.query);
    const returnTo = params === undefined ? '/spa/' : (param(params, 'return') ?? '/spa/');
    return sendHTML(ex.res, 200, loginPage({ returnTo }));
  }
  if (mediaType(ex.req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    return sendHTML(ex.res, 400, errorPage('Bad request', 'The login form must be form-encoded.'));
  }
  const form = parseParams(ex.bodyText);
  if (form === undefined || repeatedParam(form) !== undefined) {
    return sendHTML(ex.res, 400, errorPage('Bad request', 'The login form is malformed.'));
  }
  const userName = param(form, 'username') ?? '';
  const password = param(form, 'password') ?? '';
  const returnTo = param(form, 'return') ?? '/spa/';
  const user = ctx.state.user(userName);
  // Compare even for an unknown user, so timing does not tell which user names exist.
  const passwordOK = secretsEqual(password, user?.password ?? '\u0000no user');
  if (user === undefined || !passwordOK) {
    return sendHTML(
      ex.res,
      401,
      loginPage({ returnTo, userName, error: 'Wrong username or password' }),
    );
  }
  const session = ctx.state.createPortalSession(user.userName);
  redirect(ex.res, safeReturn(returnTo), {
    'set-cookie': `${PORTAL_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Lax`,
  });
}

/**
 * `GET|POST /spa/logout`: ends the portal session and logs its user out of Argus, so every OAuth
 * session of theirs is rejected at its next refresh.
 */
export function portalLogout(ctx: EmulatorContext, ex: Exchange): void {
  const userName = ctx.state.endPortalSession(portalSessionId(ex));
  if (userName !== undefined) ctx.state.logoutUser(userName);
  sendHTML(ex.res, 200, loggedOutPage(), {
    'set-cookie': `${PORTAL_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
  });
}

/** `GET /spa/`: who is logged in to the portal. */
export function portalHome(ctx: EmulatorContext, ex: Exchange): void {
  sendHTML(ex.res, 200, homePage(ctx.state.portalUser(portalSessionId(ex))));
}
