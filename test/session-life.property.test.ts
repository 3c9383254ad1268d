/**
 * The session's life under every order of its promises: fast-check's scheduler decides
 * when each call to Argus, to the session store and to the coordinator takes effect and
 * when its answer comes back, and, where Argus may be slow, when a call passes the
 * breaker's `slowCall` unanswered, across concurrent requests of one session, in one
 * process and across instances. A failure prints the seed and the shrunk schedule; set
 * FC_SEED to explore other schedules.
 */
import fc from 'fast-check';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRefreshCoordinator, type RefreshCoordinator } from '../lib/core/coordinator.ts';
import { RedisRefreshCoordinator } from '../lib/core/redis-coordinator.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import { checkSessionLife } from './helpers/session-invariants.ts';
import {
  type CoordinatorFault,
  type RequestKind,
  type RequestSpec,
  World,
} from './helpers/session-life.ts';

const SEED = Number(process.env.FC_SEED ?? 20_250_601);
/** The strategy's timeout: small, so that a wait the scheduler cannot see stays short. */
const TIMEOUT = 400;

/** How the instances of one setup coordinate. */
interface Setup {
  instances: number;
  lockTtl: number;
  numRuns: number;
  /** The coordinators of one run, one per instance, sharing nothing with other runs. */
  coordinators(): RefreshCoordinator[];
}

/**
 * Up to five requests of the session: some sent at once, some sent after an earlier one
 * ended (so refreshes follow one another), some slow saves that outlast another request.
 */
function requests(setup: Setup, kinds: RequestKind[]): fc.Arbitrary<RequestSpec[]> {
  const spec = fc.record({
    kind: fc.constantFrom(...kinds),
    instance: fc.nat(setup.instances - 1),
    after: fc.option(fc.nat(4), { nil: undefined }),
    outlasts: fc.option(fc.nat(4), { nil: undefined }),
  });
  return fc.array(spec, { minLength: 2, maxLength: 5 });
}

/**
 * A browser's requests one after another (each sent once the one before was answered),
 * and a slow request that loaded the session at the start and saves its copy, stale by
 * then, once one of them has ended; the browser's next request follows that save.
 */
function browsing(setup: Setup, kinds: RequestKind[]): fc.Arbitrary<RequestSpec[]> {
  const request = fc.record({
    kind: fc.constantFrom(...kinds),
    instance: fc.nat(setup.instances - 1),
  });
  return fc
    .record({
      chain: fc.array(request, { minLength: 3, maxLength: 4 }),
      save: fc.record({ instance: fc.nat(setup.instances - 1), outlasts: fc.nat(5) }),
    })
    .map(({ chain, save }) => {
      // The save is request 0; the chain's requests are 1 to n, each after the one before
      // but for the one after the outlasted request, which is sent after the save.
      const outlasted = 1 + (save.outlasts % (chain.length - 1));
      const specs: RequestSpec[] = [{ kind: 'save', instance: save.instance, outlasts: outlasted }];
      chain.forEach((spec, i) => {
        const index = i + 1;
        const after = index === 1 ? undefined : index === outlasted + 1 ? 0 : index - 1;
        specs.push({ ...spec, after });
      });
      return specs;
    });
}

const fault: fc.Arbitrary<CoordinatorFault> = fc.record({
  method: fc.constantFrom('acquire', 'release', 'recordSuccessor', 'facts', 'markLoggedOut'),
  nth: fc.nat(4),
});

/**
 * For the first refresh calls to Argus: how many more scheduled steps each one's answer
 * waits after Argus processed it. A long wait is a call that hangs while the session's
 * next requests come and go; uniform scheduling alone answers most calls soon.
 */
const delays: fc.Arbitrary<number[]> = fc.array(fc.nat(30), { maxLength: 4 });

/** One scheduled run of `specs`, then every invariant. */
async function explore(
  setup: Setup,
  scheduler: fc.Scheduler,
  specs: RequestSpec[],
  options: {
    argusLogout?: boolean;
    fault?: CoordinatorFault | undefined;
    slow?: boolean;
    delays?: number[];
    tally?: SlowTally;
  } = {},
): Promise<void> {
  const world = new World(scheduler, {
    coordinators: setup.coordinators(),
    timeout: TIMEOUT,
    fault: options.fault,
    slow: options.slow ?? false,
    delays: options.delays,
  });
  const bound = setup.lockTtl + 4 * TIMEOUT + 1000;
  const unsettled = await world.run(scheduler, specs, {
    argusLogout: options.argusLogout ?? false,
    bound,
  });
  await checkSessionLife(world, { unsettled, bound });
  options.tally?.add(world);
}

/**
 * What the slow-Argus runs of one setup went through, so that properties that stopped
 * reaching the slow path (say, a slowCall no longer below the timeout) fail instead of
 * passing on runs that never let a request go.
 */
class SlowTally {
  /** Slow-Argus runs. */
  runs = 0;
  /** Runs in which a refresh request was let go at slowCall. */
  letGo = 0;
  /** Of those, runs in which Argus's late answer was told as a `refresh` event. */
  lateAnswers = 0;
  /** Of those, runs in which Argus's late rejection ended the session. */
  lateRejections = 0;

  add(world: World): void {
    this.runs++;
    const letGo = world.results.some((result) => result.reason?.includes('in the background'));
    if (!letGo) return;
    this.letGo++;
    if (world.refreshEvents > 0) this.lateAnswers++;
    if (world.logouts.some((event) => event.reason === 'rejected')) this.lateRejections++;
  }

  /** Every part of the slow path was reached at least once, if any such run was made. */
  check(): void {
    if (this.runs === 0) return;
    expect(this.letGo, 'runs that let a request go at slowCall').toBeGreaterThan(0);
    expect(this.lateAnswers, 'runs that told a late answer').toBeGreaterThan(0);
    expect(this.lateRejections, 'runs that ended on a late rejection').toBeGreaterThan(0);
  }
}

/** The properties, for one way of coordinating. */
function sessionLife(setup: () => Setup): void {
  const tally = new SlowTally();
  afterAll(() => tally.check());

  it('refreshes each token set once and keeps Argus’s newest answer, in any order of concurrent refreshes and stale saves', async () => {
    const s = setup();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), requests(s, ['refresh', 'save']), (scheduler, specs) =>
        explore(s, scheduler, specs),
      ),
      { seed: SEED, numRuns: s.numRuns },
    );
  }, 60_000);

  it('writes no tokens after a logout, in any order it races refreshes, stale saves and an Argus logout', async () => {
    const s = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        requests(s, ['refresh', 'save', 'logout']),
        fc.boolean(),
        (scheduler, specs, argusLogout) => explore(s, scheduler, specs, { argusLogout }),
      ),
      { seed: SEED, numRuns: s.numRuns },
    );
  }, 60_000);

  it('keeps the session when a coordination call fails, whichever call it is', async () => {
    const s = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        requests(s, ['refresh', 'refresh', 'save', 'logout']),
        fault,
        (scheduler, specs, fault) => explore(s, scheduler, specs, { fault }),
      ),
      { seed: SEED, numRuns: s.numRuns },
    );
  }, 60_000);

  /** A property with a slow Argus: `specs` of requests, an optional Argus logout, hanging answers. */
  function slowProperty(title: string, specs: (s: Setup) => fc.Arbitrary<RequestSpec[]>): void {
    it(title, async () => {
      const s = setup();
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          specs(s),
          fc.boolean(),
          delays,
          (scheduler, requested, argusLogout, paused) =>
            explore(s, scheduler, requested, { argusLogout, slow: true, delays: paused, tally }),
        ),
        { seed: SEED, numRuns: s.numRuns },
      );
    }, 60_000);
  }

  // Argus may be slow: any call to it may pass `slowCall` unanswered at any scheduled
  // moment before its answer. The requests waiting for that refresh are let go (a guarded
  // one goes on with its still-valid token, a forced refresh gets 503) while the refresh
  // goes on; its late answer must still be kept, stored and recorded, and a late
  // rejection must end the session.
  slowProperty(
    'keeps a late answer when Argus is slow: each token set refreshed once, the newest answer stored, a late rejection ending the session',
    (s) => requests(s, ['refresh', 'guard', 'save']),
  );

  slowProperty(
    'keeps a late answer when Argus is slow while the browser’s next requests and a stale save come and go',
    (s) => browsing(s, ['refresh', 'guard']),
  );

  slowProperty(
    'writes no tokens after a logout when Argus is slow, in any order the late answer races it',
    (s) => requests(s, ['refresh', 'guard', 'save', 'logout']),
  );
}

describe('a session served by one process (LocalRefreshCoordinator)', () => {
  sessionLife(() => ({
    instances: 1,
    lockTtl: TIMEOUT + 5000,
    numRuns: 100,
    coordinators: () => [new LocalRefreshCoordinator()],
  }));
});

const redisServer: RedisServer | undefined = await startRedisServer();
const makeClient = () => createClient({ url: redisServer?.url, disableOfflineQueue: true });
const redisClients: ReturnType<typeof makeClient>[] = [];
let runs = 0;

describe.skipIf(redisServer === undefined)(
  'a session served by three instances (RedisRefreshCoordinator on redis-server)',
  () => {
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) {
        const client = makeClient();
        client.on('error', () => undefined);
        await client.connect();
        redisClients.push(client);
      }
    });
    afterAll(async () => {
      for (const client of redisClients.splice(0)) await client.quit();
    });

    const lockTtl = TIMEOUT + 1100;
    sessionLife(() => ({
      instances: 3,
      lockTtl,
      numRuns: 50,
      // Each instance with its own connection; each run under its own prefix.
      coordinators: () => {
        const prefix = `run${++runs}:`;
        return redisClients.map(
          (client) => new RedisRefreshCoordinator(client, { prefix, lockTtl }),
        );
      },
    }));
  },
);

afterAll(async () => {
  await redisServer?.stop();
});
