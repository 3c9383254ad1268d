/**
 * One simulated user: logs in, sends a steady mix of requests to random instances with the
 * same cookie, a burst of concurrent requests when the token enters its refresh window,
 * logs in again whenever the session ends, and logs out when told to.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserBrowser, type Reply } from './browser.ts';
import type { Instance, Instances } from './instances.ts';
import type { Ledger, SessionRecord } from './ledger.ts';
import { logIn } from './login.ts';
import type { Random } from './random.ts';
import { REFRESH_WINDOW, REJECTION_SLACK } from './settings.ts';

/** The session cookie of the instances (express-session's default name). */
const SESSION_COOKIE = 'connect.sid';

/** What every user shares. */
export interface LoadContext {
  instances: Instances;
  ledger: Ledger;
  portalURL: string;
  /** When the load stops (Date.now() time). */
  stopAt: number;
}

/** The protected routes of the steady load: the Argus call, and the plain page. */
const ROUTES = ['/app/argus', '/app/argus', '/app/argus', '/app/me', '/app/me'] as const;

/** One user and their one session. */
export class ChaosUser {
  readonly name: string;
  readonly address: string;
  readonly #browser: UserBrowser;
  readonly #random: Random;
  readonly #context: LoadContext;
  #session: SessionRecord | undefined;
  #generation = 0;
  readonly #inFlight = new Set<Promise<unknown>>();
  #expiresAt = 0;
  #burstTimer: NodeJS.Timeout | undefined;
  #reserved = false;
  /** Something to do in the middle of the next burst, and how long after its start. */
  #midBurst: { action: () => void; after: number } | undefined;

  constructor(name: string, address: string, random: Random, context: LoadContext) {
    this.name = name;
    this.address = address;
    this.#browser = new UserBrowser(address);
    this.#random = random;
    this.#context = context;
  }

  /** True while the user has a session the driver believes is logged in. */
  get loggedIn(): boolean {
    return this.#session !== undefined && !this.#reserved;
  }

  /** Runs the user until the load stops, starting after `delay` ms. */
  async run(delay: number): Promise<void> {
    await this.#pause(delay);
    while (!this.#stopped()) {
      if (this.#reserved) {
        await this.#pause(100);
      } else if (this.#session === undefined) {
        if (!(await this.#logIn())) await this.#pause(this.#random.int(1000, 3000));
      } else {
        await this.#request(this.#random.pick(ROUTES));
        await this.#pause(this.#random.int(1000, 3000));
      }
    }
    clearTimeout(this.#burstTimer);
    await this.drain();
  }

  /**
   * Runs `action` `after` ms into the session's next burst, while its requests (and the
   * refresh they start) are in flight; false when the user has no session now.
   */
  atNextBurst(action: () => void, after: number): boolean {
    if (this.#session === undefined || this.#reserved) return false;
    this.#midBurst = { action, after };
    return true;
  }

  /** Logs out through the app in the middle of the next burst, as from another tab. */
  logOutAtNextBurst(after: number): boolean {
    return this.atNextBurst(() => void this.#logOut(), after);
  }

  /**
   * Holds the user (no new requests) until {@link ChaosUser.release}, and resolves once
   * none of theirs is in flight; false when the user has no session to lend.
   */
  async reserve(): Promise<boolean> {
    if (this.#session === undefined || this.#reserved) return false;
    this.#reserved = true;
    await this.drain();
    if (this.#session !== undefined) return true;
    this.#reserved = false;
    return false;
  }

  /** Lets a held user go on. */
  release(): void {
    this.#reserved = false;
  }

  /** A refresh now on `instance`, for a reserved user; the promise settles with the answer. */
  refreshOn(instance: Instance): Promise<Reply | undefined> {
    return this.#request('/app/refresh', instance, 'POST', true);
  }

  /** Resolves once no request of this user is in flight. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #stopped(): boolean {
    return Date.now() >= this.#context.stopAt;
  }

  /** Sleeps `ms`, but not past the end of the load. */
  async #pause(ms: number): Promise<void> {
    const left = this.#context.stopAt - Date.now();
    if (left > 0) await sleep(Math.min(ms, left));
  }

  #someInstance(): Instance | undefined {
    const up = this.#context.instances.up();
    return up.length === 0 ? undefined : this.#random.pick(up);
  }

  async #logIn(): Promise<boolean> {
    // Answers of the last session's requests could still set cookies: let them land first.
    await this.drain();
    const instance = this.#someInstance();
    if (instance === undefined) return false;
    const loginStart = Date.now();
    const ok = await logIn(
      this.#browser,
      this.name,
      instance.url,
      this.#context.portalURL,
      this.#context.ledger,
    );
    if (!ok) {
      this.#context.ledger.failedLogins++;
      return false;
    }
    this.#generation++;
    this.#session = {
      user: this.name,
      generation: this.#generation,
      loginStart,
      loginEnd: Date.now(),
    };
    const cookie = this.#browser.cookie(SESSION_COOKIE);
    if (cookie !== undefined) this.#session.cookie = `${SESSION_COOKIE}=${cookie}`;
    this.#context.ledger.addSession(this.#session);
    this.#expiresAt = 0;
    return true;
  }

  /**
   * Logs out through the app without waiting for the session's requests in flight: a
   * user who clicks logout while another tab is busy. Their answers no longer count as
   * the app ending the session.
   */
  async #logOut(): Promise<void> {
    const session = this.#session;
    const instance = this.#someInstance();
    if (session === undefined || instance === undefined) return;
    this.#endSession(session, 'user');
    const start = Date.now();
    const sent = this.#browser.send(`${instance.url}/logout`, { method: 'POST' });
    this.#inFlight.add(sent);
    const reply = await sent.finally(() => this.#inFlight.delete(sent));
    const end = Date.now();
    this.#context.ledger.addRequest({
      session,
      instance: instance.index,
      route: '/logout',
      start,
      end,
      outcome: reply.outcome,
    });
    if (reply.outcome === 204) {
      session.loggedOutAt = end;
      this.#probeLater(session);
    }
  }

  /**
   * Tries the ended session's cookie once more on every instance, a while after the app
   * must have logged it out: as a stale tab (or a stolen cookie) would. It must not be
   * served anywhere.
   */
  #probeLater(session: SessionRecord): void {
    const cookie = session.cookie;
    if (cookie === undefined) return;
    setTimeout(() => {
      if (this.#stopped()) return;
      for (const instance of this.#context.instances.up()) {
        const start = Date.now();
        const sent = this.#browser.send(`${instance.url}/app/me`, { cookie }).then((reply) => {
          this.#context.ledger.addRequest({
            session,
            instance: instance.index,
            route: '/app/me',
            start,
            end: Date.now(),
            outcome: reply.outcome,
            probe: true,
          });
        });
        this.#inFlight.add(sent);
        void sent.finally(() => this.#inFlight.delete(sent));
      }
    }, REJECTION_SLACK + this.#random.int(200, 1000));
  }

  #endSession(session: SessionRecord, end: SessionRecord['end'], error?: string): void {
    session.end = end;
    session.endedAt = Date.now();
    if (error !== undefined) session.endError = error;
    if (this.#session === session) this.#session = undefined;
    clearTimeout(this.#burstTimer);
    this.#midBurst = undefined;
  }

  /** Sends one request of the current session and records it; undefined when none was sent. */
  #request(
    route: string,
    target?: Instance,
    method = 'GET',
    reserved = false,
  ): Promise<Reply | undefined> {
    const session = this.#session;
    const instance = target ?? this.#someInstance();
    if (session === undefined || instance === undefined || (this.#reserved && !reserved)) {
      return Promise.resolve(undefined);
    }
    const start = Date.now();
    const sent = this.#browser.send(`${instance.url}${route}`, { method }).then((reply) => {
      this.#settle(session, instance, route, start, reply);
      return reply;
    });
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
    return sent;
  }

  #settle(
    session: SessionRecord,
    instance: Instance,
    route: string,
    start: number,
    reply: Reply,
  ): void {
    const error = typeof reply.json?.error === 'string' ? reply.json.error : undefined;
    this.#context.ledger.addRequest({
      session,
      instance: instance.index,
      route,
      start,
      end: Date.now(),
      outcome: reply.outcome,
      ...(error === undefined ? {} : { error }),
    });
    if (reply.outcome === 401 && session.end === undefined) {
      this.#endSession(session, 'app', error);
      this.#probeLater(session);
      return;
    }
    const expiresAt = reply.json?.expiresAt;
    if (reply.outcome === 200 && typeof expiresAt === 'number' && expiresAt > this.#expiresAt) {
      this.#expiresAt = expiresAt;
      this.#scheduleBurst(session, expiresAt);
    }
  }

  /**
   * When the token enters its refresh window, several requests of the session arrive at
   * once on every instance: the moment that tests one refresh per session cluster-wide.
   */
  #scheduleBurst(session: SessionRecord, expiresAt: number): void {
    clearTimeout(this.#burstTimer);
    const at = expiresAt - REFRESH_WINDOW + this.#random.int(0, 300);
    const size = this.#random.int(3, 8);
    this.#burstTimer = setTimeout(
      () => {
        if (this.#session !== session || this.#reserved || this.#stopped()) return;
        for (let i = 0; i < size; i++) void this.#request(this.#random.pick(ROUTES));
        const midBurst = this.#midBurst;
        this.#midBurst = undefined;
        if (midBurst !== undefined) {
          setTimeout(() => {
            if (this.#session === session && !this.#stopped()) midBurst.action();
          }, midBurst.after);
        }
      },
      Math.max(0, at - Date.now()),
    );
  }
}
