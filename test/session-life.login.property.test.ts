/**
 * Login claims under every order of their promises: copies of one callback (a
 * double-click, a retried request) arrive at several instances; exactly one claims the
 * `state` and exchanges the code, and every other copy learns how that one ended.
 */
import fc from 'fast-check';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { LocalRefreshCoordinator, type RefreshCoordinator } from '../lib/core/coordinator.ts';
import { RedisRefreshCoordinator } from '../lib/core/redis-coordinator.ts';
import { type LoginClaim, RefreshEngine } from '../lib/core/refresh-engine.ts';
import { type RedisServer, startRedisServer } from './helpers/redis-server.ts';
import {
  ArgusGrants,
  CoordinatorCalls,
  type CoordinatorFault,
  Pacer,
  pacedCoordinator,
} from './helpers/session-life.ts';

const SEED = Number(process.env.FC_SEED ?? 20_250_601);
const TIMEOUT = 400;
/** A losing copy waits at most three timeouts and a second for the winner's outcome. */
const BOUND = 3 * TIMEOUT + 1000 + 2 * TIMEOUT;

/** How one copy of the callback ended. */
type Ending =
  | { claim: 'won'; outcome: 'success' | 'failure' }
  | { claim: 'lost'; outcome: 'success' | 'failure' }
  | { claim: 'error' };

/** Copies of one callback, each on an instance; the winner's exchange ends with `outcome`. */
async function claimRace(
  scheduler: fc.Scheduler,
  coordinators: RefreshCoordinator[],
  copies: number[],
  outcome: 'success' | 'failure',
  fault: CoordinatorFault | undefined,
): Promise<{ endings: (Ending | undefined)[]; calls: CoordinatorCalls }> {
  const pacer = new Pacer(scheduler);
  const calls = new CoordinatorCalls(fault);
  const argus = new ArgusGrants(() => 0);
  const engines = coordinators.map(
    (coordinator, index) =>
      new RefreshEngine(argus.client(index, pacer, TIMEOUT), {
        coordinator: pacedCoordinator(coordinator, pacer, calls, `${index}:`),
        timeout: TIMEOUT,
      }),
  );
  for (const engine of engines) engine.on('problem', () => undefined);
  const endings: (Ending | undefined)[] = copies.map(() => undefined);
  const callback = async (copy: number, instance: number): Promise<void> => {
    await pacer.step(`callback ${copy} arrives@${instance}`);
    let claim: LoginClaim;
    try {
      claim = await (engines[instance] as RefreshEngine).claimLogin('the-state');
    } catch {
      endings[copy] = { claim: 'error' };
      return;
    }
    if (claim.won) {
      await pacer.step(`callback ${copy} exchanges the code`);
      claim.settle(outcome);
      endings[copy] = { claim: 'won', outcome };
    } else {
      endings[copy] = { claim: 'lost', outcome: claim.outcome };
    }
  };
  const all = Promise.all(copies.map((instance, copy) => callback(copy, instance)));
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, BOUND);
  });
  await scheduler.waitFor(Promise.race([all, limit]));
  clearTimeout(timer);
  await scheduler.waitIdle();
  pacer.close();
  await scheduler.waitAll();
  return { endings, calls };
}

function claimProperty(instances: number, coordinators: () => RefreshCoordinator[]) {
  return fc.asyncProperty(
    fc.scheduler(),
    fc.array(fc.nat(instances - 1), { minLength: 2, maxLength: 4 }),
    fc.constantFrom('success' as const, 'failure' as const),
    fc.option(
      fc.record({
        method: fc.constantFrom('claim' as const, 'claimOutcome' as const),
        nth: fc.nat(3),
      }),
      { nil: undefined },
    ),
    async (scheduler, copies, outcome, fault) => {
      const { endings, calls } = await claimRace(scheduler, coordinators(), copies, outcome, fault);
      if (endings.some((ending) => ending === undefined)) {
        throw new Error(`a callback was still waiting after ${BOUND} ms`);
      }
      const winners = endings.filter((ending) => ending?.claim === 'won');
      if (winners.length > 1) throw new Error(`${winners.length} callbacks claimed one state`);
      // A callback whose claim the store could not take gets an error (503); otherwise one wins.
      if (winners.length === 0 && !calls.failed.has('claim')) {
        throw new Error('no callback claimed the state');
      }
      for (const ending of endings) {
        if (ending?.claim === 'lost' && winners.length === 1 && ending.outcome !== outcome) {
          throw new Error(
            `a losing callback learnt ${ending.outcome}, the winner ended ${outcome}`,
          );
        }
      }
    },
  );
}

describe('one login per state', () => {
  it('lets exactly one copy of a callback claim its state, and the others learn its outcome (LocalRefreshCoordinator, shared by three engines)', async () => {
    await fc.assert(
      claimProperty(3, () => {
        const shared = new LocalRefreshCoordinator();
        return [shared, shared, shared];
      }),
      { seed: SEED, numRuns: 100 },
    );
  }, 60_000);
});

const redisServer: RedisServer | undefined = await startRedisServer();
const makeClient = () => createClient({ url: redisServer?.url, disableOfflineQueue: true });
const redisClients: ReturnType<typeof makeClient>[] = [];
let runs = 0;

describe.skipIf(redisServer === undefined)('one login per state across instances', () => {
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

  it('lets exactly one copy of a callback claim its state, and the others learn its outcome (RedisRefreshCoordinator, three instances)', async () => {
    await fc.assert(
      claimProperty(3, () => {
        const prefix = `login${++runs}:`;
        return redisClients.map((client) => new RedisRefreshCoordinator(client, { prefix }));
      }),
      { seed: SEED, numRuns: 50 },
    );
  }, 60_000);
});

afterAll(async () => {
  await redisServer?.stop();
});
