/**
 * `ctx.state.argus` for Koa: the core context, reaching the session through koa-session
 * (with an external store) and the user through koa-passport.
 */
import './augment.ts';
import type { ParameterizedContext } from 'koa';
import { ArgusContext } from '../core/argus-context.ts';
import { sessionRequiredError } from '../core/errors.ts';
import type { GuardSettings } from '../core/guard-settings.ts';
import { isPageRequest } from '../core/guard-settings.ts';
import type { RefreshEngine } from '../core/refresh-engine.ts';
import type { SessionRecord } from '../core/session-record.ts';
import type { ArgusTokenSet } from '../core/token-set.ts';
import {
  cookieSessionError,
  emptyKoaRecord,
  type KoaSession,
  type KoaSessionOptions,
} from './session.ts';

/** A Koa context with koa-session's `session` and koa-passport's `logout` on it. */
export type KoaContext = ParameterizedContext;

/** koa-passport's `ctx.logout`, which regenerates the session (passport ≥ 0.6). */
type LogOut = (options?: { keepSessionInfo: boolean }) => Promise<void> | undefined;

/** `ctx.session`: a koa-session record, `null` once destroyed, `undefined` without koa-session. */
export function sessionOf(ctx: KoaContext): KoaSession | null | undefined {
  const session: KoaSession | null | undefined = ctx.session;
  return typeof session === 'object' ? session : undefined;
}

export function sessionOptionsOf(ctx: KoaContext): KoaSessionOptions | undefined {
  const options: KoaSessionOptions | undefined = ctx.sessionOptions;
  return typeof options === 'object' && options !== null ? options : undefined;
}

/** koa-session's default `maxAge`, in ms. */
const ONE_DAY = 86_400_000;

/** A koa-session record as koa-session stores it: its own fields, not its `_` ones. */
function toJSON(session: KoaSession): Record<string, unknown> {
  const json = (session as { toJSON?: () => Record<string, unknown> }).toJSON;
  return typeof json === 'function' ? json.call(session) : { ...session };
}

/** The Argus session of one Koa request. */
export class KoaArgusContext extends ArgusContext {
  readonly #ctx: KoaContext;

  constructor(engine: RefreshEngine, settings: GuardSettings, ctx: KoaContext) {
    super(engine, settings);
    this.#ctx = ctx;
  }

  protected sessionRecord(): SessionRecord | undefined {
    return sessionOf(this.#ctx) ?? undefined;
  }

  protected sessionKey(): string {
    const session = sessionOf(this.#ctx);
    if (session == null) throw sessionRequiredError();
    // The store key is the only id every request of this session shares; a cookie-only
    // session has none (and must not hold tokens anyway).
    const key = session.externalKey;
    if (key === undefined) throw cookieSessionError();
    return key;
  }

  protected clientIp(): string | undefined {
    // Koa's `app.proxy` decides whether X-Forwarded-For is believed, as `trust proxy` does.
    return this.#ctx.ip || undefined;
  }

  protected isPageRequest(): boolean {
    const ctx = this.#ctx;
    return isPageRequest(ctx.method, (types) => ctx.accepts(types));
  }

  protected currentUser(): unknown {
    return this.#ctx.state.user;
  }

  protected async saveSession(): Promise<void> {
    const ctx = this.#ctx;
    const session = sessionOf(ctx);
    if (session == null) return;
    // koa-session 7's save() writes to the store now, not at the end of the request.
    if (!ctx.res.headersSent) {
      await session.save();
      return;
    }
    // The request was answered before its refresh ended (Argus was slow): save() would
    // write the store, then fail to set the cookie. The cookie already names this key, so
    // the record goes to the store alone, with the expiry koa-session would give it.
    const options = sessionOptionsOf(ctx);
    const key = session.externalKey;
    if (options?.store === undefined || key === undefined) return;
    const maxAge = typeof options.maxAge === 'number' ? options.maxAge : ONE_DAY;
    const record = { ...toJSON(session), _expire: Date.now() + maxAge, _maxAge: maxAge };
    await options.store.set(key, record, maxAge, { changed: true, rolling: options.rolling, ctx });
  }

  protected sessionStore(): unknown {
    return sessionOptionsOf(this.#ctx)?.store;
  }

  protected override async storedTokens(): Promise<ArgusTokenSet | null | undefined> {
    const ctx = this.#ctx;
    const key = sessionOf(ctx)?.externalKey;
    const options = sessionOptionsOf(ctx);
    const store = options?.store;
    if (key === undefined || options === undefined || store === undefined) return undefined;
    const record: unknown = await store.get(key, options.maxAge, {
      rolling: options.rolling === true,
      ctx,
    });
    return this.tokensOf(record);
  }

  protected async endLocalSession(restart: boolean): Promise<void> {
    const ctx = this.#ctx;
    const session = sessionOf(ctx);
    if (session == null) return;
    // koa-session's regenerate carries the data over to the new key (express-session's
    // starts empty): empty the record first, so no copy of the token set or the user
    // outlives the logout under either key.
    emptyKoaRecord(session);
    const logout: unknown = ctx.logout;
    if (typeof logout === 'function') {
      const logOut: LogOut = logout.bind(ctx);
      // passport ≥ 0.6 regenerates the session at logout: the old record leaves the store.
      await logOut({ keepSessionInfo: false });
    } else {
      await session.regenerate();
    }
    if (restart) return;
    // koa-session destroys the regenerated record and clears its own cookie when it
    // commits, before the response leaves.
    ctx.session = null;
    const name = this.settings.cookieName;
    if (name !== sessionOptionsOf(ctx)?.key) ctx.cookies.set(name, null, { path: '/' });
  }
}
