/**
 * The Argus circuit breaker. While Argus is down, every request of every session inside
 * its refresh window would try Argus and wait up to the timeout: requests pile up when the
 * app is under stress, and Argus is hammered as it comes back. The breaker stops that:
 *
 * ```
 * closed ──`failures` unavailable answers in a row──▶ open
 * open ──one probe per `probeInterval`──▶ the probe's answer ──Argus answered──▶ closed
 *                                                          └─unavailable──▶ open
 * ```
 *
 * Only an *unavailable* answer counts (a timeout, a network error, a 5xx); a rejection is
 * Argus answering, so it counts as Argus being up. While open, a call is refused at once
 * with an `ARGUS_BREAKER_OPEN` error, which is "unavailable" like any other (the session is
 * kept; 503 with `Retry-After` once its token has expired).
 *
 * Two rules keep a hanging Argus from costing what a refusing one does not:
 *
 * - A call still unanswered after `slowCall` ms counts as unavailable then, without waiting
 *   for its timeout; its caller may let its requests go ({@link ArgusBreaker.call}'s
 *   `onSlow`) while the call itself goes on, so that a late answer is still kept.
 * - After an unavailable answer, calls go to Argus one at a time until one is answered:
 *   the others wait for that one's outcome (at most `slowCall`) instead of piling up on a
 *   sick Argus, and the breaker opens after `failures` calls, not after every request in
 *   flight has timed out.
 *
 * With a coordinator that shares it ({@link SharedBreaker}), one instance's opening is seen
 * by the others within a second, one probe per interval is made cluster-wide, and the
 * probe's success closes every instance's breaker. Framework-free; the refresh engine
 * holds one per strategy.
 */
import type { BreakerSettings } from './breaker-settings.ts';
import { type Verdict, verdictOf } from './breaker-verdicts.ts';
import { ArgusError, ArgusErrorCode } from './errors.ts';
import type { BreakerSource } from './events.ts';
import { log } from './log.ts';

export {
  type BreakerOptions,
  type BreakerSettings,
  DEFAULT_BREAKER,
  resolveBreaker,
} from './breaker-settings.ts';
export { type Verdict, verdictOf, verdictOfStatus } from './breaker-verdicts.ts';

/** What a shared breaker is told: it opened (and for how long to remember), or closed. */
export type BreakerReport =
  | {
      open: true;
      /** How long the shared mark lives unless renewed by a failed probe, in ms. */
      ttl: number;
    }
  | { open: false };

/** The coordinator's optional methods that share the breaker across instances. */
export interface SharedBreaker {
  /** Whether breaker `key` is open on some instance. */
  breaker(key: string): Promise<boolean>;
  /** Records that breaker `key` opened or closed. */
  reportBreaker(key: string, report: BreakerReport): Promise<void>;
  /**
   * Claims the one probe of breaker `key` for `ttl` ms from `now` (the caller's
   * `Date.now()`), cluster-wide: `true` for one caller per interval.
   */
  claimProbe(key: string, ttl: number, now: number): Promise<boolean>;
}

/** What the breaker needs from its owner. */
export interface BreakerHooks {
  /** The breaker opened in this process. */
  opened(event: { failures: number; source: BreakerSource }): void;
  /** The breaker closed in this process. */
  closed(event: { downFor: number; source: BreakerSource }): void;
  /** Telling the other instances failed; they learn later (by the mark's TTL or their own failures). */
  problem(what: string, error: unknown): void;
  /** Bounds a coordinator call in time. */
  bound<T>(promise: Promise<T>): Promise<T>;
}

/**
 * Starts the clock of one call's `slowCall`: runs `fire` once `ms` have passed, unless
 * `cancel` (the call settled first) came before. The default is a `setTimeout` that keeps
 * no process alive; a test passes its own to make "the call became slow" a step it
 * schedules, without waiting for real time.
 *
 * @internal
 */
export type SlowTimer = (fire: () => void, ms: number) => { cancel(): void };

/** How a call was let through. */
interface Admission {
  probe: boolean;
  /** The opening or closing the call was admitted under: a later one ignores its outcome. */
  generation: number;
  /** Already counted as unavailable, when it passed `slowCall`. */
  counted?: boolean;
}

const REFUSED = undefined;

/**
 * One Argus breaker: per process, and shared through the coordinator when it has the
 * {@link SharedBreaker} methods. Times are read from `Date.now()`, so a test that moves
 * the clock moves the probe interval with it.
 */
export class ArgusBreaker {
  readonly #settings: BreakerSettings | false;
  readonly #key: string;
  readonly #shared: SharedBreaker | undefined;
  readonly #hooks: BreakerHooks;
  /** How long a shared opening is remembered unless a failed probe renews it. */
  readonly #sharedTtl: number;
  /** How often a process reads the shared state. */
  readonly #syncEvery: number;
  #open = false;
  #failures = 0;
  #generation = 0;
  #openedAt = 0;
  /** Open: when this process may next probe (or look whether another instance closed it). */
  #nextTry = 0;
  /** Closed, with a shared breaker: when this process next looks whether another opened it. */
  #nextSync = 0;
  #syncing: Promise<void> | undefined;
  /** The probe of this process under way (at most one). */
  #probing: Admission | undefined;
  /** `slowCall`, when it is below the timeout (otherwise the timeout does its job). */
  readonly #slowAfter: number | undefined;
  /** Replaces the `setTimeout` of `slowCall` (tests only). */
  readonly #slowTimer: SlowTimer | undefined;
  /** After an unavailable answer: the one call let through until it is answered. */
  #trial: Admission | undefined;
  /** Settles when {@link ArgusBreaker.#trial} ends, for the calls that wait their turn. */
  #trialEnded: Promise<void> | undefined;
  #endTrial: (() => void) | undefined;

  constructor(
    settings: BreakerSettings | false,
    options: {
      key: string;
      shared?: SharedBreaker | undefined;
      timeout: number;
      hooks: BreakerHooks;
      /**
       * Starts the clock of each call's `slowCall` instead of `setTimeout`.
       *
       * @internal
       */
      slowTimer?: SlowTimer | undefined;
    },
  ) {
    this.#settings = settings;
    this.#key = options.key;
    this.#shared = options.shared;
    this.#hooks = options.hooks;
    this.#slowTimer = options.slowTimer;
    const interval = settings === false ? 0 : settings.probeInterval;
    // Renewed by every failed probe, which comes at most an interval plus one call apart:
    // the mark outlives that, and ends by itself if every instance stops probing.
    this.#sharedTtl = 2 * (interval + options.timeout);
    this.#syncEvery = Math.min(1000, interval);
    if (settings !== false && settings.slowCall < options.timeout) {
      this.#slowAfter = settings.slowCall;
    }
  }

  /** `'open'` while calls to Argus are refused but for the probes. */
  get state(): 'closed' | 'open' {
    return this.#open ? 'open' : 'closed';
  }

  /** After how many ms an unanswered call counts as unavailable, if before the timeout. */
  get slowCall(): number | undefined {
    return this.#slowAfter;
  }

  /** Unavailable answers in a row so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * True when a call now would be refused without going anywhere: the breaker is open and
   * it is not yet time for this process to probe. Synchronous and allocation-free, so a
   * caller can answer at once before any coordination.
   */
  refuses(now: number = Date.now()): boolean {
    return this.#open && (this.#probing !== undefined || now < this.#nextTry);
  }

  /** The error a refused call fails with: "unavailable", status 503. */
  openError(): ArgusError {
    return new ArgusError(
      ArgusErrorCode.BREAKER_OPEN,
      'Argus is unavailable (several calls in a row failed); passport-argus waits for a probe to succeed before calling it again',
      { status: 503 },
    );
  }

  /**
   * Runs `call` (one call to Argus) if the breaker lets it through, and records what its
   * outcome says about Argus: a thrown error by `verdictOf` (a timeout, a network error or a
   * 5xx is down, a rejection is up), a value by `judge`
   * (default: Argus answered). Refused: rejects with {@link ArgusBreaker.openError}.
   * `onSlow` runs if the call is still unanswered after `slowCall` ms (it then counts as
   * unavailable; the call goes on, and a success still counts as Argus up).
   */
  async call<T>(
    call: () => Promise<T>,
    judge: (value: T) => Verdict = () => 'up',
    onSlow?: () => void,
  ): Promise<T> {
    if (this.#settings === false) return call();
    const admission = await this.#admit();
    if (admission === REFUSED) throw this.openError();
    return this.#run(admission, call, judge, onSlow);
  }

  /**
   * Runs `call` whatever the breaker's state and records its outcome. For a call that must
   * not be refused: a login's code exchange, whose one-time code would be lost, made by a
   * user who has just come back from Argus's portal (so Argus was answering a moment ago).
   */
  observe<T>(call: () => Promise<T>): Promise<T> {
    if (this.#settings === false) return call();
    return this.#run({ probe: false, generation: this.#generation }, call, () => 'up');
  }

  async #run<T>(
    admission: Admission,
    call: () => Promise<T>,
    judge: (value: T) => Verdict,
    onSlow?: () => void,
  ) {
    let verdict: Verdict = 'neutral';
    let slow: NodeJS.Timeout | undefined;
    let timed: { cancel(): void } | undefined;
    const after = this.#slowAfter;
    if (after !== undefined) {
      if (this.#slowTimer === undefined) {
        slow = setTimeout(() => this.#slow(admission, onSlow), after);
        // A waiting call keeps no process alive: the call's own timeout ends it.
        slow.unref();
      } else {
        timed = this.#slowTimer(() => this.#slow(admission, onSlow), after);
      }
    }
    try {
      const value = await call();
      verdict = judge(value);
      return value;
    } catch (error) {
      verdict = verdictOf(error);
      throw error;
    } finally {
      clearTimeout(slow);
      timed?.cancel();
      this.#release(admission);
      // Counted as unavailable already: only a late answer has something new to say.
      if (!admission.counted || verdict === 'up') this.#record(admission, verdict);
    }
  }

  /** A call passed `slowCall`: a hanging Argus counts now; the next probe need not wait. */
  #slow(admission: Admission, onSlow: (() => void) | undefined): void {
    admission.counted = true;
    this.#release(admission);
    this.#record(admission, 'down');
    onSlow?.();
  }

  /** Ends what `admission` held: the probe of this process, or the trial after a failure. */
  #release(admission: Admission): void {
    if (admission.probe) {
      if (this.#probing === admission) this.#probing = undefined;
    } else if (this.#trial === admission) {
      this.#endTrials();
    }
  }

  /** No call is the trial any more: those waiting their turn look again. */
  #endTrials(): void {
    const end = this.#endTrial;
    this.#trial = undefined;
    this.#trialEnded = undefined;
    this.#endTrial = undefined;
    end?.();
  }

  /** Lets a call through (as a probe when open), or refuses it. */
  async #admit(): Promise<Admission | typeof REFUSED> {
    if (!this.#open && this.#shared !== undefined && Date.now() >= this.#nextSync) {
      // One look at a time; the calls that arrive meanwhile wait for its answer.
      this.#syncing ??= this.#sync().finally(() => {
        this.#syncing = undefined;
      });
      await this.#syncing;
    }
    // After a failure, one call at a time finds out whether Argus is back; each wait ends
    // within `slowCall` (or the timeout), when that call is answered or counted.
    while (!this.#open && this.#failures > 0 && this.#trialEnded !== undefined) {
      await this.#trialEnded;
    }
    if (this.#open) return this.#admitProbe();
    const admission: Admission = { probe: false, generation: this.#generation };
    if (this.#failures > 0) {
      this.#trial = admission;
      this.#trialEnded = new Promise((resolve) => {
        this.#endTrial = resolve;
      });
    }
    return admission;
  }

  /** Closed: looks whether another instance opened the breaker. */
  async #sync(): Promise<void> {
    const shared = this.#shared as SharedBreaker;
    this.#nextSync = Date.now() + this.#syncEvery;
    try {
      if (await this.#hooks.bound(shared.breaker(this.#key))) this.#openHere(0, 'shared');
    } catch {
      // Unknown: this process goes on with what it knows itself, and looks again later.
      log.refresh('the shared breaker could not be read');
    }
  }

  /** Open: the one probe of this process, if it is time and (when shared) this instance wins the slot. */
  async #admitProbe(): Promise<Admission | typeof REFUSED> {
    if (this.refuses()) return REFUSED;
    const settings = this.#settings as BreakerSettings;
    const generation = this.#generation;
    // Taken before any wait: one probe per process, whatever arrives meanwhile.
    const probe: Admission = { probe: true, generation };
    this.#probing = probe;
    const shared = this.#shared;
    if (shared !== undefined) {
      try {
        if (!(await this.#hooks.bound(shared.breaker(this.#key)))) {
          // Another instance's probe succeeded: Argus is back.
          this.#release(probe);
          if (this.#generation === generation) this.#closeHere('shared');
          return { probe: false, generation: this.#generation };
        }
        const claim = shared.claimProbe(this.#key, settings.probeInterval, Date.now());
        if (!(await this.#hooks.bound(claim))) {
          // Another instance probes this interval; look again soon, to close with it.
          this.#release(probe);
          this.#nextTry = Date.now() + this.#syncEvery;
          return REFUSED;
        }
      } catch {
        // The store is down: probe on this process's own interval.
        log.refresh('the shared breaker probe could not be claimed; probing from here');
      }
    }
    if (this.#generation !== generation) {
      this.#release(probe);
      return this.#open ? REFUSED : { probe: false, generation: this.#generation };
    }
    this.#nextTry = Date.now() + settings.probeInterval;
    return probe;
  }

  #record(admission: Admission, verdict: Verdict): void {
    // An outcome of a call let through before the last opening or closing says nothing new.
    if (admission.generation !== this.#generation || verdict === 'neutral') return;
    if (verdict === 'up') {
      this.#failures = 0;
      if (this.#open) this.#closeHere('local');
      return;
    }
    this.#failures++;
    // Another instance may have opened the breaker already: look at the next call rather
    // than a second later, instead of spending this process's own `failures` on Argus.
    this.#nextSync = 0;
    const settings = this.#settings as BreakerSettings;
    if (this.#open) {
      // A failed probe: still down. Keep the shared mark alive for the others.
      if (admission.probe) this.#share({ open: true, ttl: this.#sharedTtl });
      return;
    }
    if (this.#failures >= settings.failures) {
      this.#openHere(this.#failures, 'local');
      this.#share({ open: true, ttl: this.#sharedTtl });
      // The opener holds the probe slot for the first interval: nobody probes at once.
      const shared = this.#shared;
      if (shared !== undefined) {
        this.#hooks
          .bound(shared.claimProbe(this.#key, settings.probeInterval, Date.now()))
          .catch((error: unknown) => this.#hooks.problem('sharing the Argus breaker', error));
      }
    }
  }

  #openHere(failures: number, source: BreakerSource): void {
    if (this.#open) return;
    this.#open = true;
    this.#generation++;
    this.#openedAt = Date.now();
    // Those waiting their turn are refused now, at once.
    this.#endTrials();
    // The opener waits a whole interval before its first probe; an instance that learns of
    // the opening later looks for the probe slot at its next sync.
    this.#nextTry =
      this.#openedAt +
      (source === 'local' ? (this.#settings as BreakerSettings).probeInterval : this.#syncEvery);
    this.#hooks.opened({ failures, source });
  }

  #closeHere(source: BreakerSource): void {
    if (!this.#open) return;
    this.#open = false;
    this.#generation++;
    this.#failures = 0;
    this.#endTrials();
    this.#nextSync = Date.now() + this.#syncEvery;
    this.#hooks.closed({ downFor: Date.now() - this.#openedAt, source });
    if (source === 'local') this.#share({ open: false });
  }

  /** Tells the other instances, in the background: a failure only delays what they learn. */
  #share(report: BreakerReport): void {
    const shared = this.#shared;
    if (shared === undefined) return;
    this.#hooks
      .bound(shared.reportBreaker(this.#key, report))
      .catch((error: unknown) => this.#hooks.problem('sharing the Argus breaker', error));
  }
}
