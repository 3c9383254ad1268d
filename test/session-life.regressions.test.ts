/**
 * Schedules the session-life properties found, replayed with fast-check's `schedulerFor`:
 * the numbers are the scheduled steps (in the order each was first scheduled) in the
 * order they are let through. Each schedule is the one found, against the code that had
 * the fault, so the fault's return fails the test's assertions; where the fix changed what
 * gets scheduled, the run departs from the schedule there and goes on with the oldest
 * waiting step (see {@link following}).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalRefreshCoordinator, type RefreshCoordinator } from '../lib/core/coordinator.ts';
import { checkSessionLife } from './helpers/session-invariants.ts';
import {
  type CoordinatorFault,
  type RequestSpec,
  sharedLockCoordinator,
  World,
} from './helpers/session-life.ts';

const TIMEOUT = 400;
const BOUND = 7000;

/**
 * `fc.schedulerFor(order)`, except that a step the order names next but that is not
 * waiting (the code no longer schedules it there) yields to the oldest waiting step, and
 * steps past the end of the order go oldest first: the schedule is followed as far as
 * the code lets it. (The order is read as the run goes, so it is extended in place.)
 */
function following(order: readonly number[]): fc.Scheduler {
  const ordering = [...order];
  const scheduler = fc.schedulerFor(ordering);
  const waitOne = scheduler.waitOne.bind(scheduler);
  let released = 0;
  scheduler.waitOne = (act) => {
    const waiting = scheduler
      .report()
      .filter((task) => task.status === 'pending')
      .map((task) => task.taskId);
    const due = ordering[released];
    if ((due === undefined || !waiting.includes(due)) && waiting.length > 0) {
      ordering.splice(released, 0, Math.min(...waiting));
    }
    released++;
    return waitOne(act);
  };
  return scheduler;
}

/**
 * Runs `specs` on `instances` engines sharing one coordinator (by default a
 * LocalRefreshCoordinator), in `order`; with `slow`, calls to Argus may pass `slowCall`
 * unanswered, and refresh answers wait `delays` more steps.
 */
async function replay(
  order: number[],
  specs: RequestSpec[],
  options: {
    instances?: number;
    fault?: CoordinatorFault;
    coordinator?: RefreshCoordinator;
    slow?: boolean;
    delays?: number[];
    argusLogout?: boolean;
  } = {},
): Promise<{ world: World; unsettled: number }> {
  const scheduler = following(order);
  const shared = options.coordinator ?? new LocalRefreshCoordinator();
  const world = new World(scheduler, {
    coordinators: Array.from({ length: options.instances ?? 1 }, () => shared),
    timeout: TIMEOUT,
    fault: options.fault,
    slow: options.slow ?? false,
    delays: options.delays,
  });
  const unsettled = await world.run(scheduler, specs, {
    bound: BOUND,
    argusLogout: options.argusLogout ?? false,
  });
  return { world, unsettled };
}

describe('the session-life schedules found by the properties', () => {
  it('a save whose logout check is answered after this process logged the session out writes nothing', async () => {
    // The save's check reads the coordinator (6) before the logout marks (9, 10) and
    // destroys (11); its answer (8) comes after. The write must not follow.
    const { world, unsettled } = await replay(
      [2, 3, 1, 5, 4, 6, 7, 9, 10, 11, 8, 12, 13],
      [
        { kind: 'save', instance: 0 },
        { kind: 'logout', instance: 0 },
      ],
    );
    expect(world.store.ops.filter((op) => op.kind === 'set')).toEqual([]);
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  it('a refresh that Argus answers after the logout marked the session writes nothing and ends the Argus session it extended', async () => {
    // Argus gets the refresh (13); the logout ends the Argus session (14, 16) and marks
    // (17, 18); only then does the refresh's answer arrive (15).
    const { world, unsettled } = await replay(
      [1, 3, 4, 5, 2, 6, 8, 9, 10, 11, 12, 7, 13, 14, 16, 17, 18, 15, 20, 21, 23, 19, 22, 24],
      [
        { kind: 'refresh', instance: 0 },
        { kind: 'logout', instance: 0 },
      ],
    );
    const answer = world.argus.latest?.tokens.accessToken;
    expect(answer).toBeDefined();
    expect(world.store.ops.some((op) => op.accessToken === answer)).toBe(false);
    expect(world.argus.ended).toContain(answer);
    expect(world.results.find((result) => result.spec.kind === 'refresh')).toMatchObject({
      outcome: 'logged_out',
      reason: 'ended',
    });
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties: a request that loaded set 0 and saves it after two refreshes
  // (0 → 1 → 2) sets the store back to 0. With only the last successor recorded, the next
  // request refreshed with 0's spent refresh token and Argus revoked the whole OAuth
  // session; the chain of successors leads it to set 2.
  it('a save that outlasts two refreshes leaves the next request on the newest set, not a spent token', async () => {
    const { world, unsettled } = await replay(
      [
        2, 1, 4, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 24,
        27, 26, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
        49, 50, 51, 52, 53, 55, 54, 56, 57, 58, 59, 60, 61, 62, 63,
      ],
      [
        { kind: 'refresh', instance: 0 },
        { kind: 'save', instance: 0, outlasts: 2 },
        { kind: 'refresh', instance: 0, after: 0 },
      ],
    );
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties: the logout's marker write fails (retried in the background).
  // Instance 1 cannot see the logout yet: its save lands after the record was destroyed.
  // Once the retried marker lands, the record is destroyed again.
  it('a logout whose marker write failed removes the record again once the marker lands', async () => {
    const { world, unsettled } = await replay(
      [2, 1, 3, 5, 6, 4, 7, 9, 10, 8, 11, 12, 13, 14],
      [
        { kind: 'save', instance: 1 },
        { kind: 'logout', instance: 0 },
      ],
      { instances: 2, fault: { method: 'markLoggedOut', nth: 0 } },
    );
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties once Argus could be slow: a refresh let go at slowCall goes on
  // in the background, and a request holding an older set (saved back over the newer one
  // by a slow request) started a refresh of that older set, which took the session's one
  // entry for refreshes under way. The browser's next request, holding the set still
  // being refreshed in the background, then found none under way and refreshed it a second
  // time: Argus saw a spent refresh token and revoked the whole OAuth session.
  it('a request holding the set whose refresh goes on in the background joins it, even after an older set was refreshed meanwhile', async () => {
    const { world, unsettled } = await replay(
      [
        1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 15, 17, 19, 20, 21, 18, 22, 23, 25, 24,
        26, 28, 29, 30, 31, 32, 33, 27, 35, 34, 36, 38, 37, 39, 40, 42, 43, 41, 44, 45, 48, 47, 50,
        51, 49, 46, 52, 54, 53, 56, 55, 57, 58, 59, 60, 61, 62, 64, 63, 65, 66, 68, 69, 67, 71, 70,
        73, 74, 75, 76, 77, 72, 79, 78, 81, 80, 83, 82, 84, 85, 86, 88, 89, 90, 87, 92, 91, 93, 94,
        95, 97, 96, 98, 100, 101, 103, 104, 102, 106, 107, 99, 108, 109, 105, 112, 110, 115, 111,
        118, 113, 117, 114, 116, 120, 119, 121,
      ],
      [
        { kind: 'save', instance: 0, outlasts: 2 },
        { kind: 'refresh', instance: 0 },
        { kind: 'refresh', instance: 0, after: 1 },
        { kind: 'refresh', instance: 0, after: 0 },
        { kind: 'refresh', instance: 0, after: 3 },
      ],
      { slow: true, delays: [2, 24] },
    );
    // Two refreshes at Argus, each of its own set, and the session goes on.
    const presented = world.argus.refreshes.map((call) => call.token);
    expect(presented).toHaveLength(2);
    expect(new Set(presented).size).toBe(2);
    expect(world.argus.rejections).toEqual([]);
    expect(world.results.map((result) => result.outcome)).not.toContain('logged_out');
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties once Argus could be slow: the user logged out of Argus, the
  // refresh under way was let go, and the user then logged out of the app. Argus's
  // rejection of that refresh arrived after the logout had been told: it was told again,
  // as a second logout (reason 'rejected').
  it('a late rejection that reaches the process after the user logged out is not told as a second logout', async () => {
    const { world, unsettled } = await replay(
      [
        2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 12, 17, 16, 18, 19, 21, 20, 23, 24, 22, 25,
        27, 26, 28, 30, 29, 32, 31, 33, 35, 36, 34, 37, 38, 40, 39, 41, 43, 42,
      ],
      [
        { kind: 'refresh', instance: 0 },
        { kind: 'logout', instance: 0, after: 0 },
      ],
      { slow: true, delays: [9], argusLogout: true },
    );
    expect(world.results.find((result) => result.spec.kind === 'refresh')?.outcome).toBe(
      'unavailable',
    );
    expect(world.argus.rejections).toHaveLength(1);
    expect(world.logouts.map((event) => event.reason)).toEqual(['user']);
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties (three instances on Redis): instance 1's refresh was rejected
  // (the user had logged out of Argus) and it released the session's lock before marking
  // the session logged out. Instance 0 took the lock in between, saw no mark, and presented
  // the same refresh token again: a second rejection, and a second logout.
  it('a rejected refresh marks the session logged out before another instance can take the lock', async () => {
    const { world, unsettled } = await replay(
      [
        3, 5, 6, 1, 7, 8, 4, 9, 11, 12, 10, 2, 13, 14, 16, 17, 15, 19, 18, 21, 22, 20, 23, 26, 25,
        27, 29, 30, 28, 32, 31, 35, 36, 24, 38, 39, 37, 40, 33, 34, 41, 43, 44, 42, 45, 46, 48, 49,
        50, 51, 47, 53, 52,
      ],
      [
        { kind: 'save', instance: 0 },
        { kind: 'refresh', instance: 1 },
        { kind: 'save', instance: 0, outlasts: 0 },
        { kind: 'refresh', instance: 0, after: 0 },
        { kind: 'refresh', instance: 0, after: 1 },
      ],
      { instances: 3, coordinator: sharedLockCoordinator(), argusLogout: true },
    );
    expect(world.argus.refreshes).toHaveLength(1);
    expect(world.logouts.map((event) => `${event.reason}@${event.instance}`)).toEqual([
      'rejected@1',
    ]);
    expect(world.results.map((result) => result.outcome)).toContain('logged_out');
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });

  // Found by the properties once Argus could be slow: a guarded request and a refresh
  // waited for one refresh; the user's logout completed meanwhile, and only then did the
  // refresh pass slowCall. The guarded request, let go with a still-valid token, went on
  // logged in after its own process had logged the session out.
  it('a request let go at slowCall after the session was logged out in its process is not answered logged in', async () => {
    const { world, unsettled } = await replay(
      [
        3, 2, 6, 4, 7, 9, 10, 1, 11, 5, 12, 8, 15, 14, 13, 17, 16, 19, 18, 20, 23, 21, 22, 24, 25,
        26,
      ],
      [
        { kind: 'refresh', instance: 0 },
        { kind: 'guard', instance: 0 },
        { kind: 'logout', instance: 0 },
      ],
      { slow: true, argusLogout: true },
    );
    expect(world.slowCalls).toBeGreaterThan(0);
    expect(world.logouts.map((event) => event.reason)).toEqual(['user']);
    const outcomes = world.results.map((result) => [result.spec.kind, result.outcome]);
    expect(outcomes).toContainEqual(['guard', 'logged_out']);
    expect(outcomes).not.toContainEqual(['guard', 'ok']);
    await checkSessionLife(world, { unsettled, bound: BOUND });
  });
});
