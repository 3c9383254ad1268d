/**
 * The server process of the guard-overhead benchmark: one Express app with one session
 * store and one logged-in user, whose routes differ only in their guard, and an
 * express-openid-connect app beside it with its own (cookie) session.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import oidcMiddleware from 'express-openid-connect';
import { requireArgus } from 'passport-argus';
import type { ArgusEmulator } from 'passport-argus/emulator';
import { startTestApp } from '../../test/helpers/app.ts';
import { serve } from './process.ts';

/** The routes under load, and the cookies that make their requests logged in. */
export interface GuardTargets {
  none: string;
  bare: string;
  argus: string;
  /** The guard with `sessionCheckInterval` long enough that no check falls in a run. */
  checkedRarely: string;
  /** The guard with `sessionCheckInterval` of one second: a check every second. */
  checkedOften: string;
  /** A guarded route that reads `req.argus.accessToken`. */
  token: string;
  /** The same two routes on an app whose strategy has `encryptionKeys`. */
  sealed: string;
  sealedToken: string;
  oidcNone: string;
  oidcGuarded: string;
  argusCookie: string;
  sealedCookie: string;
  oidcCookie: string;
}

const ok: RequestHandler = (_req, res) => {
  res.type('text').send('ok');
};

// A route that needs the token, as any route calling Argus does (with encryption on, the
// set is opened here, once per request).
const token: RequestHandler = (req, res) => {
  res.type('text').send(req.argus.accessToken.length > 0 ? 'ok' : 'none');
};

// The guard most passport apps start with: is there a user in the session?
// A function declaration, because the CPU profiles find it by name: tsx's transform
// leaves an arrow function assigned to a const without one, and its share read as 0.
function bareGuard(req: Request, res: Response, next: NextFunction): void {
  if (req.isAuthenticated()) next();
  else res.status(401).json({ error: 'login_required' });
}

/** The emulator of the plain app, to count the session checks it received. */
let argusEmulator: ArgusEmulator | undefined;

async function start(): Promise<GuardTargets> {
  const argus = await startTestApp({
    // Long-lived tokens: every request of the run takes the fresh-token path.
    emulator: { tokenLifetime: 3_600_000 },
    routes: (app, strategy) => {
      app.get('/none', ok);
      app.get('/bare', bareGuard, ok);
      // Outside /app, so that only this guard runs; the same session as /app/ok.
      app.get('/checked-rarely', requireArgus({ strategy, sessionCheckInterval: 3_600_000 }), ok);
      app.get('/checked-often', requireArgus({ strategy, sessionCheckInterval: 1000 }), ok);
    },
    protectedRoutes: (app) => {
      app.get('/app/ok', ok);
      app.get('/app/token', token);
    },
  });
  // The same app with the token set sealed at rest.
  const sealed = await startTestApp({
    emulator: { tokenLifetime: 3_600_000 },
    strategy: { encryptionKeys: randomBytes(32).toString('base64') },
    protectedRoutes: (app) => {
      app.get('/app/ok', ok);
      app.get('/app/token', token);
    },
  });
  const sid = (await argus.login()).browser.cookie(argus.url, 'connect.sid');
  const sealedSid = (await sealed.login()).browser.cookie(sealed.url, 'connect.sid');
  if (sid === undefined || sealedSid === undefined) {
    throw new Error('the login left no session cookie');
  }
  argusEmulator = argus.emulator;
  const oidc = await startOidcApp(argus.emulator.url);
  return {
    none: `${argus.url}/none`,
    bare: `${argus.url}/bare`,
    argus: `${argus.url}/app/ok`,
    checkedRarely: `${argus.url}/checked-rarely`,
    checkedOften: `${argus.url}/checked-often`,
    token: `${argus.url}/app/token`,
    sealed: `${sealed.url}/app/ok`,
    sealedToken: `${sealed.url}/app/token`,
    oidcNone: `${oidc.url}/none`,
    oidcGuarded: `${oidc.url}/guarded`,
    argusCookie: `connect.sid=${sid}`,
    sealedCookie: `connect.sid=${sealedSid}`,
    oidcCookie: oidc.cookie,
  };
}

// A CommonJS package whose named exports Node cannot see statically.
const { auth, requiresAuth } = oidcMiddleware;

const OIDC_SECRET = 'bench-oidc-session-secret-of-enough-length';

interface OidcCrypto {
  getKeyStore(secret: string, forEncryption: boolean): [Buffer, Buffer[]];
  encryptSync(payload: string, key: Buffer, headers: Record<string, number>): string;
}

/**
 * express-openid-connect's `requiresAuth()` on its own app. It logs in only against an
 * OpenID provider (discovery, signed id_tokens), which Argus is not; so its session
 * cookie is made here with its own encryption, holding an id_token as it would after a
 * login. Discovery happens only at login, so no request under load reaches the issuer.
 */
async function startOidcApp(issuer: string): Promise<{ url: string; cookie: string }> {
  const app = express();
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app.use(
    auth({
      issuerBaseURL: issuer,
      baseURL: url,
      clientID: 'bench-oidc-client',
      secret: OIDC_SECRET,
      authRequired: false,
      idpLogout: false,
    }),
  );
  app.get('/none', ok);
  app.get('/guarded', requiresAuth(), ok);

  const require = createRequire(import.meta.url);
  const crypto = require('express-openid-connect/lib/crypto.js') as OidcCrypto;
  const [key] = crypto.getKeyStore(OIDC_SECRET, true);
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const idToken = [
    part({ alg: 'RS256', typ: 'JWT' }),
    part({ iss: `${issuer}/`, sub: 'alice', aud: 'bench-oidc-client', iat: now, exp: now + 3600 }),
    'c2lnbmF0dXJl',
  ].join('.');
  const value = crypto.encryptSync(JSON.stringify({ id_token: idToken }), key, {
    iat: now,
    uat: now,
    exp: now + 86_400,
  });
  return { url, cookie: `appSession=${value}` };
}

/** A V8 CPU profile, as much of it as is read here. */
interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * The share of the busy CPU time that went to the guard `name` itself: its own code and
 * what it calls, except `next` (the rest of the app). Idle time is left out; garbage
 * collection and the kernel's share of socket calls count as busy.
 */
function guardShare(profile: Profile, name: string): number {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const own = new Map<number, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    own.set(id, (own.get(id) ?? 0) + delta);
    busy += delta;
  });
  const inclusive = (id: number, skipNext: boolean): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    let sum = own.get(id) ?? 0;
    for (const child of node.children ?? []) {
      if (skipNext && byId.get(child)?.callFrame.functionName === 'next') continue;
      sum += inclusive(child, false);
    }
    return sum;
  };
  let guard = 0;
  for (const node of profile.nodes) {
    if (node.callFrame.functionName === name) guard += inclusive(node.id, true);
  }
  return busy === 0 ? 0 : guard / busy;
}

const inspector = new Session();
inspector.connect();

serve({
  start,
  /** Starts sampling this process's CPU every 100 µs. */
  async profileStart() {
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
  },
  /** Stops sampling and answers the share of the busy time each named guard took. */
  async profileStop(names: string[]): Promise<Record<string, number>> {
    const { profile } = (await inspector.post('Profiler.stop')) as { profile: Profile };
    await inspector.post('Profiler.disable');
    return Object.fromEntries(names.map((name) => [name, guardShare(profile, name)]));
  },
  /** The session checks (`GET /authentication/v1/session`) Argus has received so far. */
  sessionChecks: () => argusEmulator?.requestsTo('session').length ?? 0,
  /** Collects garbage now, so that no run pays for the garbage of the run before it. */
  gc: () => (globalThis as { gc?: () => void }).gc?.(),
  /** CPU time of this process so far, in µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
