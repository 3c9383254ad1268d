/**
 * Reaching Argus through an outbound proxy: the `agent` option carries every call to Argus
 * (code exchange, profile, API calls, refresh, session end) through a CONNECT proxy on
 * loopback, and the whole login works over real HTTP.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArgusStrategy, type ArgusStrategyOptions } from 'passport-argus';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { startProxy, type TestProxy, TunnelAgent } from './helpers/proxy.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

const api = { headers: { accept: 'application/json' } };

let proxy: TestProxy;
let agent: TunnelAgent;
let app: TestApp;
let argusHost: string;

beforeAll(async () => {
  proxy = await startProxy();
  agent = new TunnelAgent(proxy.url);
  app = await startTestApp({ strategy: { agent } });
  argusHost = new URL(app.emulator.apiURL).host;
});
afterAll(async () => {
  agent.destroy();
  await app.close();
  await proxy.close();
});
beforeEach(() => {
  app.emulator.reset();
  app.errors.length = 0;
  proxy.refuseWith = undefined;
  // Each test starts on a new tunnel, so that it sees the CONNECT of its own calls.
  agent.destroy();
  proxy.tunnels.length = 0;
  proxy.requests.length = 0;
});
afterEach(() => restoreTime());

describe('the agent option, through a CONNECT proxy', () => {
  it('carries the code exchange, the profile request and an API call, and the login works', async () => {
    const { browser, landing } = await app.login();
    expect(landing.body).toBe('home of alice');
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).userName).toBe('alice');
    expect(proxy.requests).toEqual([
      'POST /authentication/v1/oauth/token',
      'GET /currentuser/v1/user',
      'GET /currentuser/v1/user',
    ]);
    // One tunnel to Argus, kept alive from one call to the next.
    expect(proxy.tunnels).toEqual([argusHost]);
    // And Argus received them, from the proxy.
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
    expect(app.emulator.requestsTo('currentuser')).toHaveLength(2);
  });

  it('carries the refresh and the session end', async () => {
    useMovableTime();
    const { browser } = await app.login();
    proxy.requests.length = 0;
    advance(400_000);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(200);
    const logout = await browser.request(`${app.url}/logout`, { method: 'POST', ...api });
    expect(logout.status).toBe(204);
    expect(proxy.requests).toEqual([
      'POST /authentication/v1/oauth/token',
      'DELETE /authentication/v1/session',
    ]);
  });

  it('reports a proxy that refuses the tunnel as Argus unreachable, and nobody logs in', async () => {
    proxy.refuseWith = 403;
    const { browser, landing } = await app.login();
    expect(landing.status).toBe(503);
    expect(JSON.parse(landing.body)).toEqual({ error: 'ARGUS_NETWORK' });
    expect(app.errors[0]).toMatchObject({ code: 'ARGUS_NETWORK' });
    expect(proxy.tunnels).toEqual([argusHost]);
    expect(app.emulator.requestsTo('token')).toEqual([]);
    expect((await browser.request(`${app.url}/app/me`, api)).status).toBe(401);
  });
});

describe('the agent option', () => {
  const base: ArgusStrategyOptions = {
    clientID: 'c0ffee00-0000-4000-8000-000000000000',
    clientSecret: 'secret',
    callbackURL: 'https://app.example/oauth/callback',
  };

  it.each([
    ['a string', 'http://proxy.example:3128'],
    ['a plain object', { keepAlive: true }],
    ['null', null],
  ])('refuses %s, naming the option', (_name, value) => {
    expect(() => new ArgusStrategy({ ...base, agent: value } as never)).toThrow(
      new TypeError(
        'ArgusStrategy option "agent" must be an http.Agent or https.Agent (a proxy agent, say)',
      ),
    );
  });

  it('takes an http.Agent, an https.Agent, or nothing (Node.js’s global agent)', () => {
    const https = new HttpsAgent({ keepAlive: true });
    const http = new HttpAgent();
    expect(new ArgusStrategy({ ...base, agent: https }).argusOptions.agent).toBe(https);
    expect(new ArgusStrategy({ ...base, agent: http }).argusOptions.agent).toBe(http);
    expect(new ArgusStrategy(base).argusOptions.agent).toBeUndefined();
  });
});
