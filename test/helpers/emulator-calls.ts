/**
 * Calls to the emulator as the demo client makes them, for the emulator's own tests:
 * the token endpoint, a whole login of alice, and the current-user API.
 */
import { type ArgusEmulator, DEMO_CLIENT } from 'passport-argus/emulator';

/** The demo client's first redirect URI. */
export const DEMO_REDIRECT = DEMO_CLIENT.redirectUris[0] ?? '';

/** An answer's JSON body, typed loosely for assertions. */
export interface Answer {
  error?: string;
  responseCode?: number;
  messages?: { message: string }[];
  data?: { [key: string]: unknown } | null;
  now?: number;
}

/** Reads an answer's JSON body. */
export async function json(res: Response): Promise<Answer> {
  return (await res.json()) as Answer;
}

/** The tokens of a finished login. */
export interface LoginTokens {
  access_token: string;
  refresh_token: string;
}

/** Binds the calls to the emulator a test file starts (read when each call is made). */
export function demoClientCalls(current: () => ArgusEmulator) {
  /** A token request with the demo client's credentials in the body. */
  function tokenRequest(target: ArgusEmulator, fields: Record<string, string>): Promise<Response> {
    return fetch(`${target.url}/authentication/v1/oauth/token`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({
        client_id: DEMO_CLIENT.clientID,
        client_secret: DEMO_CLIENT.clientSecret,
        ...fields,
      }),
    });
  }

  /** Logs alice in all the way and returns her tokens. */
  async function login(target = current()): Promise<LoginTokens> {
    const portal = await fetch(`${target.url}/spa/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'alice', password: 'alice-password' }),
    });
    const cookie = portal.headers.get('set-cookie')?.split(';')[0] ?? '';
    const params = new URLSearchParams({
      client_id: DEMO_CLIENT.clientID,
      redirect_uri: DEMO_REDIRECT,
      response_type: 'code',
    });
    const authorize = await fetch(`${target.url}/spa/oauth/authorize?${params}`, {
      redirect: 'manual',
      headers: { cookie },
    });
    const code = new URL(authorize.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const res = await tokenRequest(target, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: DEMO_REDIRECT,
    });
    return (await res.json()) as LoginTokens;
  }

  /** `GET /currentuser/v1/user` with a bearer token. */
  function currentUser(token: string, target = current()): Promise<Response> {
    return fetch(`${target.url}/currentuser/v1/user`, {
      headers: { authorization: `Bearer ${token}` },
    });
  }

  return { tokenRequest, login, currentUser };
}
