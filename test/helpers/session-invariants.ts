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

/** Every invariant, in order; the answer check last, since it runs one more request. */
export async function checkSessionLife(world: World, facts: RunFacts): Promise<void> {
  checkEverySettled(world, facts);
  checkOneRefreshPerTokenSet(world);
  checkNothingAfterLogout(world);
  checkNoLogoutWithoutCause(world);
  await checkAnswerKept(world);
}
