/**
 * Schedules the session-life properties found, replayed exactly with fast-check's
 * `schedulerFor`: the numbers are the scheduled steps (in the order each was first
 * scheduled) in the order they are let through.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalRefreshCoordinator } from '../lib/core/coordinator.ts';
import { checkSessionLife } from './helpers/session-invariants.ts';
import { type CoordinatorFault, type RequestSpec, World } from './helpers/session-life.ts';

const TIMEOUT = 400;
const BOUND = 7000;

/** Runs `specs` on `instances` engines sharing one LocalRefreshCoordinator, in `order`. */
async function replay(
  order: number[],
  specs: RequestSpec[],
  options: { instances?: number; fault?: CoordinatorFault } = {},
): Promise<{ world: World; unsettled: number }> {
  const scheduler = fc.schedulerFor(order);
  const shared = new LocalRefreshCoordinator();
  const world = new World(scheduler, {
    coordinators: Array.from({ length: options.instances ?? 1 }, () => shared),
    timeout: TIMEOUT,
    fault: options.fault,
  });
  const unsettled = await world.run(scheduler, specs, { bound: BOUND });
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
});
