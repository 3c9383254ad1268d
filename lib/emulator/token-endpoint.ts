import type { OutgoingHttpHeaders } from 'node:http';
import type { EmulatorContext, Exchange } from './context.ts';
import {
  errorEnvelope,
  formDecode,
  mediaType,
  type Params,
  param,
  parseParams,
  repeatedParam,
  secretsEqual,
  sendJSON,
} from './http-util.ts';
import type { GrantResult } from './state.ts';
import type { EmulatorClient } from './types.ts';

/** RFC 6749 §5.1: token answers, good or bad, must not be cached. */
const NO_STORE: OutgoingHttpHeaders = { 'cache-control': 'no-store', pragma: 'no-cache' };

function oauthError(ex: Exchange, status: number, error: string, description: string): void {
  sendJSON(ex.res, status, { error, error_description: description }, NO_STORE);
}

type ClientAuth =
  | { readonly ok: true; readonly client: EmulatorClient }
  | {
      readonly ok: false;
      readonly status: 400 | 401;
      readonly error: string;
      readonly description: string;
      readonly basic: boolean;
    };

/** The client credentials of a Basic header, form-decoded as RFC 6749 §2.3.1 requires. */
function parseBasic(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match?.[1] === undefined || match[1].length % 4 !== 0) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(match[1], 'base64'));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  return id === undefined || secret === undefined ? undefined : { id, secret };
}

/**
 * Client authentication by exactly one method (RFC 6749 §2.3): HTTP Basic, or `client_id` and
 * `client_secret` in the body. A `client_id` in the body beside Basic is allowed only when it
 * names the same client.
 */
function authenticateClient(ctx: EmulatorContext, ex: Exchange, form: Params): ClientAuth {
  const header = ex.req.headers.authorization;
  const bodyID = param(form, 'client_id');
  const bodySecret = param(form, 'client_secret');
  let id: string | undefined;
  let secret: string | undefined;
  const basic = header !== undefined;
  if (basic) {
    const credentials = parseBasic(header);
    if (credentials === undefined) {
      return {
        ok: false,
        status: 401,
        error: 'invalid_client',
        description: 'The Authorization header is not well-formed HTTP Basic client credentials',
        basic,
      };
    }
    if (bodySecret !== undefined || (bodyID !== undefined && bodyID !== credentials.id)) {
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        description: 'Use one client authentication method: HTTP Basic or the request body',
        basic,
      };
    }
    ({ id, secret } = credentials);
  } else {
    id = bodyID;
    secret = bodySecret;
  }
  const client = id === undefined ? undefined : ctx.clients.get(id);
  // Compare even for an unknown client, so timing does not tell which client ids exist.
  const secretOK = secretsEqual(secret ?? '', client?.clientSecret ?? '\u0000no client');
  if (client === undefined || secret === undefined || !secretOK) {
    return {
      ok: false,
      status: 401,
      error: 'invalid_client',
      description: 'Client authentication failed',
      basic,
    };
  }
  return { ok: true, client };
}

/**
 * A refused code or refresh, shaped by the `rejection` option: Argus does not document which of
 * these it sends, so a client must handle all three.
 */
function reject(ctx: EmulatorContext, ex: Exchange, description: string): void {
  const style = ctx.settings().rejection;
  if (style === 'invalid_grant') oauthError(ex, 400, 'invalid_grant', description);
  else sendJSON(ex.res, style, errorEnvelope(style, description, ctx.clock.now()), NO_STORE);
}

/** `POST /authentication/v1/oauth/token`: the authorization_code and refresh_token grants. */
export function token(ctx: EmulatorContext, ex: Exchange) {
  if (mediaType(ex.req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    return oauthError(
      ex,
      400,
      'invalid_request',
      'The body must be application/x-www-form-urlencoded',
    );
  }
  const form = parseParams(ex.bodyText);
  if (form === undefined) {
    return oauthError(ex, 400, 'invalid_request', 'The body has a malformed % escape');
  }
  // A refresh refused before it reaches the grant logic is still a refused refresh to log.
  const refreshRefused = (reason: 'invalid_client' | 'invalid_request') => {
    if (form.get('grant_type')?.[0] === 'refresh_token') {
      ctx.state.refreshRefused(form.get('refresh_token')?.[0], reason);
    }
  };
  const repeated = repeatedParam(form);
  if (repeated !== undefined) {
    refreshRefused('invalid_request');
    // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
    return oauthError(ex, 400, 'invalid_request', `${repeated} appears more than once`);
  }
  const auth = authenticateClient(ctx, ex, form);
  if (!auth.ok) {
    refreshRefused(auth.error === 'invalid_client' ? 'invalid_client' : 'invalid_request');
    const headers: OutgoingHttpHeaders =
      auth.status === 401 && auth.basic ? { 'www-authenticate': 'Basic realm="argus"' } : {};
    return sendJSON(
      ex.res,
      auth.status,
      { error: auth.error, error_description: auth.description },
      { ...NO_STORE, ...headers },
    );
  }
  const grantType = param(form, 'grant_type');
  if (grantType === 'authorization_code') {
    const code = param(form, 'code');
    const redirectUri = param(form, 'redirect_uri');
    if (code === undefined || redirectUri === undefined) {
      return oauthError(ex, 400, 'invalid_request', 'code and redirect_uri are required');
    }
    const verifier = param(form, 'code_verifier');
    const result = ctx.state.redeemCode(code, auth.client.clientID, redirectUri, verifier);
    return answer(ctx, ex, result, true);
  }
  if (grantType === 'refresh_token') {
    const refreshToken = param(form, 'refresh_token');
    if (refreshToken === undefined) {
      refreshRefused('invalid_request');
      return oauthError(ex, 400, 'invalid_request', 'refresh_token is required');
    }
    return answer(ctx, ex, ctx.state.refresh(refreshToken, auth.client.clientID), false);
  }
  if (grantType === undefined) {
    return oauthError(ex, 400, 'invalid_request', 'grant_type is required');
  }
  oauthError(ex, 400, 'unsupported_grant_type', 'Supported: authorization_code, refresh_token');
}

/**
 * The flat OAuth token answer Argus sends. A code exchange always has `refresh_token` (null when
 * none is issued, as in Argus' own example); a refresh has it only when it rotated.
 */
function answer(ctx: EmulatorContext, ex: Exchange, result: GrantResult, exchange: boolean) {
  if (!result.ok) return reject(ctx, ex, result.reason);
  const { tokens } = result;
  const body: Record<string, unknown> = {
    access_token: tokens.accessToken,
    id_token: null,
  };
  if (exchange || tokens.refreshToken !== null) body.refresh_token = tokens.refreshToken;
  body.token_type = 'Bearer';
  body.expires_in = tokens.expiresIn;
  if (tokens.scope !== undefined) body.scope = tokens.scope;
  sendJSON(ex.res, 200, body, NO_STORE);
}
