/**
 * The invariants of a session's life (docs: "A session's life, and what must hold on every
 * interleaving"), checked on a {@link World} after a scheduled run. Each check throws an
 * Error that says which invariant broke and how, so fast-check reports it with the
 * shrunk schedule.
 */
import { SessionRequest, type World } from './session-life.ts';

/** What the run was allowed to do, which decides what must hold afterwards. */
export interface RunFacts {
  /** Requests still running when the bound passed. */
  unsettled: number;
  /** Each request must end within this many ms. */
  bound: number;
}

function violated(invariant: number, what: string): never {
  throw new Error(`invariant ${invariant} violated: ${what}`);
}

/**
 * 1. At most one Argus refresh per token set: no refresh token presented twice, so the
 * emulator's reuse detection never fires.
 */
export function checkOneRefreshPerTokenSet(world: World): void {
  for (const [token, times] of world.argus.presented()) {
    if (times > 1) {
      const reasons = world.argus.refreshes
        .filter((call) => call.token === token && 'rejected' in call.answer)
        .map((call) => ('rejected' in call.answer ? call.answer.rejected : ''));
      violated(1, `one refresh token was presented ${times} times (Argus: ${reasons.join('; ')})`);
    }
  }
}

/**
 * 2. Nothing writes the session after its logout completed. A write that was in flight
 * then may still land, but is undone, so the store ends with no record of the session
 * holding tokens. In one process, with every coordination call answered, no write of
 * tokens even starts after the logout completed. (Across instances one can: a check that
 * read the coordinator before the mark may answer after it; the undo covers it.)
 */
export function checkNothingAfterLogout(world: World): void {
  const at = world.loggedOutAt;
  if (at === undefined) return;
  if (world.calls.fired === 0 && world.instances.length === 1) {
    const late = world.store.ops.find(
      (op) => op.kind === 'set' && op.accessToken !== undefined && op.issuedAt > at,
    );
    if (late !== undefined) {
      violated(
        2,
        `instance ${late.instance} started a write of tokens at tick ${late.issuedAt}, after the logout completed at tick ${at}`,
      );
    }
  }
  if (world.store.tokens(world.sid) !== undefined) {
    const last = world.store.ops.filter((op) => op.kind === 'set' && op.accessToken !== undefined);
    violated(
      2,
      `the store still holds tokens after the logout completed at tick ${at} (last write of tokens landed at tick ${last.at(-1)?.landedAt})`,
    );
  }
}

/**
 * 3. Once Argus answered a refresh (and nobody logged out), the session continues with that
 * answer or a newer one: the next request, served by the instance Argus answered, ends
 * with the store holding Argus's newest set, with no token presented twice. Run it after
 * the pacer closed.
 */
export async function checkAnswerKept(world: World): Promise<void> {
  if (world.loggedOutAt !== undefined || world.argusLoggedOut) return;
  if (world.argus.rejections.length > 0) return;
  if (world.results.some((result) => result.spec.kind === 'logout')) return;
  const latest = world.argus.latest;
  const instance = world.instances[latest?.instance ?? 0];
  if (instance === undefined) throw new Error('no instance');
  const calls = world.argus.refreshes.length;
  const next = await SessionRequest.arrive(instance, world.sid);
  if (!next.loggedIn) violated(3, 'the store lost the session');
  const outcome = await next.ensureFresh(true);
  await next.end();
  checkOneRefreshPerTokenSet(world);
  if (outcome.type !== 'ok') {
    violated(3, `the next request of the session ended ${outcome.type} instead of going on`);
  }
  if (latest === undefined) return;
  const made = world.argus.refreshes.slice(calls);
  const newest = world.argus.latest?.tokens;
  if (
    made.length === 0 &&
    world.store.tokens(world.sid)?.accessToken !== latest.tokens.accessToken
  ) {
    violated(3, 'the next request went on without Argus, but not with its newest answer');
  }
  if (made.length > 0 && made[0]?.token !== latest.tokens.refreshToken) {
    violated(3, 'the next request refreshed a token set older than Argus’s newest answer');
  }
  if (world.store.tokens(world.sid)?.accessToken !== newest?.accessToken) {
    violated(3, 'after the next request the store does not hold Argus’s newest answer');
  }
}

/**
 * 4. Every request settles, within the bound; no refresh is left in flight in any engine.
 */
export function checkEverySettled(world: World, facts: RunFacts): void {
  if (facts.unsettled > 0) {
    violated(4, `${facts.unsettled} request(s) still pending after ${facts.bound} ms`);
  }
  for (const result of world.results) {
    if (result.elapsed > facts.bound) {
      violated(4, `a ${result.spec.kind} request took ${Math.round(result.elapsed)} ms`);
    }
    if (result.outcome === 'error') {
      violated(4, `a ${result.spec.kind} request failed: ${result.reason}`);
    }
  }
  for (const instance of world.instances) {
    if (instance.engine.inFlight !== 0)
      violated(4, `instance ${instance.index} has a refresh left`);
  }
}

/**
 * 5. A session ends only by the user's logout or an Argus rejection: a coordination store
 * that fails, a lost race or an outage leaves it logged in (at worst "unavailable").
 */
export function checkNoLogoutWithoutCause(world: World): void {
  if (world.argus.rejections.length > 0) return;
  if (world.results.some((result) => result.spec.kind === 'logout')) return;
  const out = world.results.find((result) => result.outcome === 'logged_out');
  if (out !== undefined) {
    violated(5, `a ${out.spec.kind} request was logged out (${out.reason}) with no logout`);
  }
  if (world.calls.count('markLoggedOut') > 0) violated(5, 'the session was marked logged out');
  if (world.store.tokens(world.sid) === undefined) {
    violated(5, 'the session record lost its tokens with no logout');
  }
}

/**
 * 6. Each request is answered as its user may see it: a guarded request goes on while its
 * token is valid (never "unavailable", which is the 503 of an expired token); a refresh
 * request is "unavailable" only when a call to Argus was slow (it was let go) or a
 * coordination call failed; and no request is answered logged in once the session has
 * ended: neither one that loaded its copy of the session after the end, nor one answered
 * by a process after that process told the end (a request that was waiting for a refresh,
 * or let go while Argus was slow, included).
 */
export function checkRequestOutcomes(world: World): void {
  const at = world.loggedOutAt;
  for (const result of world.results) {
    const { kind } = result.spec;
    if (result.outcome === 'unavailable') {
      if (kind === 'guard') {
        violated(6, `a guarded request with a valid token was answered 503: ${result.reason}`);
      }
      if (world.slowCalls === 0 && world.calls.fired === 0) {
        violated(6, `a refresh request was answered 503 with Argus answering: ${result.reason}`);
      }
    }
    if (
      result.outcome === 'ok' &&
      at !== undefined &&
      result.loadedAt !== undefined &&
      result.loadedAt > at
    ) {
      violated(
        6,
        `a ${kind} request that loaded the session at tick ${result.loadedAt}, after it ended at tick ${at}, was answered logged in at tick ${result.answeredAt}`,
      );
    }
    const told = world.logouts.find((event) => event.instance === result.spec.instance)?.at;
    if (
      result.outcome === 'ok' &&
      told !== undefined &&
      result.answeredAt !== undefined &&
      result.answeredAt > told
    ) {
      violated(
        6,
        `instance ${result.spec.instance} told the session's end at tick ${told}, then answered a ${kind} request logged in at tick ${result.answeredAt}`,
      );
    }
  }
}

/**
 * 7. An Argus rejection ends the session, however late it comes, and is told once: after
 * a rejection the session is marked and its record holds no tokens; one `logout` event
 * (reason `rejected`) tells it, and none in a process that had told the session's end
 * before the rejection reached it (the user's logout ended the Argus session, which is
 * why Argus rejected). No `refresh` event is told twice.
 */
export function checkSessionEnd(world: World): void {
  const { logouts } = world;
  const told = () => logouts.map((event) => `${event.reason}@${event.instance}`).join(', ');
  if (logouts.filter((event) => event.reason === 'rejected').length > 1) {
    violated(7, `a rejection was told more than once (${told()})`);
  }
  for (const event of logouts) {
    if (event.reason !== 'rejected') continue;
    const ended = logouts.find((other) => other.instance === event.instance)?.at ?? event.at;
    const reached = world.argus.rejections.some(
      (call) =>
        call.instance === event.instance &&
        call.deliveredAt !== undefined &&
        call.deliveredAt < ended,
    );
    if (ended < event.at && !reached) {
      violated(
        7,
        `instance ${event.instance} told the end at tick ${ended}, then again for a rejection that reached it later (${told()})`,
      );
    }
  }
  const rejected = world.argus.rejections.length > 0;
  if (logouts.some((event) => event.reason === 'rejected') && !rejected) {
    violated(7, 'a logout for a rejection that Argus never made');
  }
  if (rejected) {
    if (logouts.length === 0) violated(7, 'Argus rejected a refresh and the session went on');
    if (world.calls.count('markLoggedOut') === 0) {
      violated(7, 'Argus rejected a refresh and the session was not marked logged out');
    }
    if (world.store.tokens(world.sid) !== undefined) {
      violated(7, 'Argus rejected a refresh and the store still holds the session’s tokens');
    }
  }
  const answered = world.argus.refreshes.filter((call) => !('rejected' in call.answer)).length;
  if (world.refreshEvents > answered) {
    violated(7, `${world.refreshEvents} refresh events for ${answered} Argus answers`);
  }
}

/**
 * 8. Nothing goes unhandled: no promise rejection is left unobserved, and with every
 * coordination call answered, no engine reports a problem.
 */
export function checkNothingUnhandled(world: World): void {
  const [first] = world.unhandled;
  if (world.unhandled.length > 0) {
    const what = first instanceof Error ? first.message : String(first);
    violated(8, `${world.unhandled.length} unhandled rejection(s), first: ${what}`);
  }
  if (world.calls.fired === 0 && world.problems.length > 0) {
    violated(8, `problems reported with every call answered: ${world.problems.join('; ')}`);
  }
}

/** Every invariant, in order; the answer check last, since it runs one more request. */
export async function checkSessionLife(world: World, facts: RunFacts): Promise<void> {
  checkEverySettled(world, facts);
  checkOneRefreshPerTokenSet(world);
  checkNothingAfterLogout(world);
  checkNoLogoutWithoutCause(world);
  checkRequestOutcomes(world);
  checkSessionEnd(world);
  checkNothingUnhandled(world);
  await checkAnswerKept(world);
}
