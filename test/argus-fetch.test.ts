import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { advance, restoreTime, useMovableTime } from './helpers/time.ts';

let app: TestApp;
beforeEach(() => useMovableTime());
afterEach(async () => {
  restoreTime();
  await app?.close();
});

const api = { headers: { accept: 'application/json' } };

async function loggedIn(options: Parameters<typeof startTestApp>[0] = {}) {
  app = await startTestApp({
    ...options,
    protectedRoutes: (express) => {
      express.get('/app/raw', async (req, res, next) => {
        try {
          const answer = await req.argus.fetch('/authentication/v1/session');
          res.status(answer.status).json({ status: answer.status, body: await answer.json() });
        } catch (error) {
          next(error);
        }
      });
      express.post('/app/refresh', async (req, res, next) => {
        try {
          await req.argus.refresh();
          res.json({ expiresAt: req.argus.expiresAt.getTime() });
        } catch (error) {
          next(error);
        }
      });
      express.get('/app/headers', async (req, res, next) => {
        try {
          // An app's headers in its own letter case, some of them the package's own.
          const answer = await req.argus.fetch('/currentuser/v1/user', {
            headers: {
              Authorization: 'Bearer mallory/forged',
              'X-Forwarded-For': '198.51.100.66',
              HOST: 'evil.example',
              Accept: 'application/vnd.argus+json',
              'X-Request-Id': 'req-42',
            },
          });
          res.status(answer.status).json({ status: answer.status });
        } catch (error) {
          next(error);
        }
      });
      express.get('/app/framing', async (req, res, next) => {
        try {
          // Headers about the connection and the body, which only the HTTP client may set.
          const answer = await req.argus.fetch('/currentuser/v1/user', {
            headers: {
              'Transfer-Encoding': 'chunked',
              Connection: 'upgrade',
              'Content-Length': '5',
            },
          });
          res.status(answer.status).json({ status: answer.status });
        } catch (error) {
          next(error);
        }
      });
      express.get('/app/escape', async (req, res, next) => {
        try {
          await req.argus.fetch(String(req.query.path));
          res.end('called');
        } catch (error) {
          next(error);
        }
      });
    },
  });
  const { browser } = await app.login();
  app.emulator.clearRequests();
  return browser;
}

/** The debug lines of `namespaces` from now on, as `DEBUG=namespaces` would print them. */
function debugLines(namespaces: string) {
  const seen: string[] = [];
  const log = createDebug.log;
  const previous = createDebug.disable();
  createDebug.enable(namespaces);
  // Without colours, debug starts a line with the time; the rest is what is compared.
  createDebug.log = (...args: unknown[]) => seen.push(format(...args).replace(/^\S+Z /, ''));
  return {
    seen,
    stop() {
      createDebug.log = log;
      createDebug.disable();
      if (previous) createDebug.enable(previous);
    },
  };
}

describe('req.argus', () => {
  it('calls the Argus API with the bearer token and the user IP, and unwraps the envelope', async () => {
    const browser = await loggedIn();
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ userName: 'alice', name: 'Alice Anderson' });
    const call = app.emulator.requestsTo('currentuser')[0];
    expect(call?.headers.authorization).toMatch(/^Bearer alice\//);
    expect(call?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('forwards the client IP that Express’s trust proxy decides', async () => {
    const browser = await loggedIn({ trustProxy: 'loopback' });
    await browser.request(`${app.url}/app/argus`, {
      headers: { accept: 'application/json', 'x-forwarded-for': '203.0.113.7' },
    });
    expect(app.emulator.requestsTo('currentuser')[0]?.headers['x-forwarded-for']).toBe(
      '203.0.113.7',
    );
  });

  it('sends its own bearer token, user IP and host whatever letter case the app’s headers use', async () => {
    const browser = await loggedIn();
    const answer = await browser.request(`${app.url}/app/headers`, api);
    expect(answer.status).toBe(200);
    const calls = app.emulator.requestsTo('currentuser');
    expect(calls).toHaveLength(1);
    const received = calls[0]?.headers ?? {};
    expect(received.authorization).toMatch(/^Bearer alice\//);
    expect(received['x-forwarded-for']).toBe('127.0.0.1');
    expect(received.host).toBe(new URL(app.emulator.apiURL).host);
    // The app's other headers go through, and replace the package's defaults.
    expect(received.accept).toBe('application/vnd.argus+json');
    expect(received['x-request-id']).toBe('req-42');
  });

  it('leaves the connection and body framing headers to the HTTP client', async () => {
    const browser = await loggedIn();
    const answer = await browser.request(`${app.url}/app/framing`, api);
    expect(answer.status).toBe(200);
    const received = app.emulator.requestsTo('currentuser')[0]?.headers ?? {};
    expect(received['transfer-encoding']).toBeUndefined();
    expect(received['content-length']).toBeUndefined();
    expect(received.connection).not.toBe('upgrade');
  });

  it('refreshes once and retries once when Argus answers 401 to a token it thinks expired', async () => {
    const browser = await loggedIn();
    // Only Argus's clock moves: the app still believes its token is fresh.
    app.emulator.clock.advance(310_000);
    const answer = await browser.request(`${app.url}/app/raw`, api);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).body.data.userName).toBe('alice');
    expect(app.emulator.requestsTo('session')).toHaveLength(2);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('logs out and fails with ARGUS_SESSION_EXPIRED when the retry’s refresh is rejected', async () => {
    const browser = await loggedIn();
    const sid = app.sessionId(browser) ?? '';
    app.emulator.logoutUser('alice');
    const answer = await browser.request(`${app.url}/app/raw`, api);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_SESSION_EXPIRED' });
    expect(await app.storedSession(sid)).toBeUndefined();
  });

  it('names each call once in its debug line: the API call by its path, the refresh by its endpoint', async () => {
    const browser = await loggedIn();
    const lines = debugLines('passport-argus:http');
    try {
      expect((await browser.request(`${app.url}/app/argus`, api)).status).toBe(200);
      advance(10_000);
      await browser.request(`${app.url}/app/refresh`, { method: 'POST', headers: api.headers });
    } finally {
      lines.stop();
    }
    expect(lines.seen.map((line) => line.replace(/ in \d+ms/, ''))).toEqual([
      'passport-argus:http API call GET /currentuser/v1/user -> 200',
      'passport-argus:http token refresh POST /authentication/v1/oauth/token -> 200',
    ]);
  });

  it('refreshes on demand with req.argus.refresh()', async () => {
    const browser = await loggedIn();
    advance(10_000);
    const answer = await browser.request(`${app.url}/app/refresh`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).expiresAt).toBeGreaterThanOrEqual(Date.now() + 299_000);
    expect(app.emulator.requestsTo('token')).toHaveLength(1);
  });

  it('throws a typed error with status 502 when the API answers an error, not Argus’s own status', async () => {
    const browser = await loggedIn();
    app.emulator.failNext('currentuser', {
      status: 404,
      contentType: 'application/json',
      body: '{"responseCode":404,"messages":[],"data":null}',
    });
    const answer = await browser.request(`${app.url}/app/argus`, api);
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_HTTP' });
    expect(app.errors[0]).toMatchObject({ code: 'ARGUS_HTTP', argusStatus: 404, status: 502 });
  });

  it.each(['//evil.example/x', 'https://evil.example/', '/../../etc', '/a/%2e%2e/b', 'relative'])(
    'refuses the API path %j so the token cannot go elsewhere',
    async (path) => {
      const browser = await loggedIn();
      const answer = await browser.request(
        `${app.url}/app/escape?path=${encodeURIComponent(path)}`,
        api,
      );
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.body)).toEqual({ error: 'ARGUS_MISCONFIGURED' });
      expect(app.emulator.requests).toHaveLength(0);
    },
  );
});
