/**
 * `req.argus` for Express: the core context, reaching the session through
 * express-session and the user through passport.
 */
import './augment.ts';
import type { Request, Response } from 'express';
import { ArgusContext } from '../core/argus-context.ts';
import { isPageRequest } from '../core/guard-settings.ts';
import type { GuardSettings } from '../core/guard-settings.ts';
import type { RefreshEngine } from '../core/refresh-engine.ts';
import type { SessionRecord } from '../core/session-record.ts';
import type { ArgusTokenSet } from '../core/token-set.ts';

type Callback = (error?: unknown) => void;
type LogOut = (options: { keepSessionInfo: boolean }, done: Callback) => void;

function settle(run: (done: Callback) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}

/** The Argus session of one Express request. */
export class ExpressArgusContext extends ArgusContext {
  readonly #req: Request;
  readonly #res: Response;

  constructor(engine: RefreshEngine, settings: GuardSettings, req: Request, res: Response) {
    super(engine, settings);
    this.#req = req;
    this.#res = res;
  }

  protected sessionRecord(): SessionRecord | undefined {
    return this.#req.session as unknown as SessionRecord | undefined;
  }

  protected sessionKey(): string {
    return this.#req.sessionID;
  }

  protected clientIp(): string | undefined {
    return this.#req.ip;
  }

  protected isPageRequest(): boolean {
    const req = this.#req;
    return isPageRequest(req.method, (types) => req.accepts(types));
  }

  protected currentUser(): unknown {
    return this.#req.user;
  }

  protected saveSession(): Promise<void> {
    const session = this.#req.session;
    return session === undefined ? Promise.resolve() : settle((done) => session.save(done));
  }

  protected sessionStore(): unknown {
    return this.#req.sessionStore;
  }

  protected override storedTokens(): Promise<ArgusTokenSet | null | undefined> {
    const { sessionStore, sessionID } = this.#req;
    if (sessionStore === undefined) return Promise.resolve(undefined);
    return new Promise((resolve, reject) =>
      sessionStore.get(sessionID, (error, record) =>
        error ? reject(error) : resolve(this.tokensOf(record)),
      ),
    );
  }

  protected async endLocalSession(restart: boolean): Promise<void> {
    const req = this.#req;
    const session = req.session;
    if (session === undefined) return;
    const { path, domain, secure, sameSite, httpOnly } = session.cookie;
    const logout = (req as unknown as { logout?: LogOut }).logout;
    // passport ≥ 0.6 regenerates the session at logout: the old record leaves the store.
    if (typeof logout === 'function') {
      await settle((done) => logout.call(req, { keepSessionInfo: false }, done));
    } else {
      await settle((done) => session.regenerate(done));
    }
    if (restart) return;
    const fresh = req.session;
    if (fresh !== undefined) await settle((done) => fresh.destroy(done));
    this.#res.clearCookie(this.settings.cookieName, {
      path,
      domain,
      secure: secure === 'auto' ? req.secure : secure,
      sameSite,
      httpOnly,
    });
  }
}
