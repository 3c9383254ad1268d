/**
 * The server process that runs an Argus emulator for the benchmarks, apart from the
 * apps and from the load generator.
 */
import {
  type ArgusEmulator,
  type ArgusEmulatorOptions,
  startArgusEmulator,
} from 'passport-argus/emulator';
import { Browser } from '../../test/helpers/browser.ts';
import { serve } from './process.ts';

/** A token answer of the emulator, as a client keeps it. */
export interface Grant {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

let emulator: ArgusEmulator | undefined;

function running(): ArgusEmulator {
  if (emulator === undefined) throw new Error('the emulator is not started');
  return emulator;
}

/**
 * Gets `count` grants for alice the way a client does (authorize, a code, the code
 * exchange at the token endpoint), `concurrency` at a time, after one portal login. The
 * redirect URI is never visited: the code is read from the redirect.
 */
async function grants(
  clientID: string,
  clientSecret: string,
  redirectUri: string,
  count: number,
  concurrency = 8,
): Promise<Grant[]> {
  const url = running().url;
  const browser = new Browser();
  const login = await browser.request(`${url}/spa/login`, {
    form: { username: 'alice', password: 'alice-password', return: '/spa/' },
  });
  if (login.status !== 302) throw new Error(`the portal login answered ${login.status}`);
  const authorize = `${url}/spa/oauth/authorize?${new URLSearchParams({
    client_id: clientID,
    redirect_uri: redirectUri,
    response_type: 'code',
  })}`;
  const out: Grant[] = [];
  const one = async () => {
    const answer = await browser.request(authorize);
    const code = new URL(answer.headers.get('location') ?? '', url).searchParams.get('code');
    if (code === null) throw new Error(`authorize answered ${answer.status} without a code`);
    const token = await fetch(`${url}/authentication/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: clientID,
        client_secret: clientSecret,
      }),
    });
    const json = (await token.json()) as {
      access_token: string;
      refresh_token: string;
      expires_in: number;
    };
    out.push({
      accessToken: json.access_token,
      refreshToken: json.refresh_token,
      expiresIn: json.expires_in,
    });
  };
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

serve({
  async start(options: ArgusEmulatorOptions) {
    emulator = await startArgusEmulator({ quiet: true, ...options });
    return emulator.url;
  },
  /** Refresh-token grants among the recorded requests (the emulator keeps the last 10 000). */
  refreshCalls: () =>
    running()
      .requestsTo('token')
      .filter((r) => r.form?.grant_type?.[0] === 'refresh_token').length,
  clearRequests: () => running().clearRequests(),
  grants,
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
