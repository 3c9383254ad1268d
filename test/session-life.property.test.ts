/**
 * The session's life under every order of its promises: fast-check's scheduler decides
 * when each call to Argus, to the session store and to the coordinator takes effect and
 * when its answer comes back, across concurrent requests of one session, in one process
 * and across instances. A failure prints the seed and the shrunk schedule; set FC_SEED to
 * explore other schedules.
 */
import fc from 'fast-check';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, it } from 'vitest';
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

const fault: fc.Arbitrary<CoordinatorFault> = fc.record({
  method: fc.constantFrom('acquire', 'release', 'recordSuccessor', 'facts', 'markLoggedOut'),
  nth: fc.nat(4),
});

/** One scheduled run of `specs`, then every invariant. */
async function explore(
  setup: Setup,
  scheduler: fc.Scheduler,
  specs: RequestSpec[],
  options: { argusLogout?: boolean; fault?: CoordinatorFault | undefined } = {},
): Promise<void> {
  const world = new World(scheduler, {
    coordinators: setup.coordinators(),
    timeout: TIMEOUT,
    fault: options.fault,
  });
  const bound = setup.lockTtl + 4 * TIMEOUT + 1000;
  const unsettled = await world.run(scheduler, specs, {
    argusLogout: options.argusLogout ?? false,
    bound,
  });
  await checkSessionLife(world, { unsettled, bound });
}

/** The properties, for one way of coordinating. */
function sessionLife(setup: () => Setup): void {
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
