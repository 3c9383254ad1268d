/**
 * The command line of the chaos run: `npm run chaos -- --seconds 30 --seed 1`.
 */
import { parseArgs } from 'node:util';

/**
 * Faults planted on purpose, to show that the run catches them: instances without
 * RedisRefreshCoordinator (in-process coordination only), a refresh lock that expires
 * after 100 ms, a Redis that keeps nothing over a restart, and a session store that each
 * instance caches in memory for 10 s.
 */
export const PLANTS = ['no-coordinator', 'short-lock', 'volatile-redis', 'cached-store'] as const;

/** A planted fault, see {@link PLANTS}. */
export type Plant = (typeof PLANTS)[number];

/** What one chaos run does. */
export interface ChaosOptions {
  /** Length of the load phase, in seconds. */
  seconds: number;
  /** Seed of the fault plan and of the load's choices. */
  seed: number;
  /** App instances (separate processes). */
  instances: number;
  /** Users, each with one session. */
  users: number;
  /** A fault planted in every app instance, or none. */
  plant: Plant | undefined;
  /** Print each fault as it is injected and the instances' error output. */
  verbose: boolean;
  /** Write what the run saw (events, sessions, requests, faults) to this JSON file. */
  dump: string | undefined;
}

const USAGE = `usage: npm run chaos -- [--seconds N] [--seed S] [--instances 2|3] [--users N]
         [--plant ${PLANTS.join('|')}] [--verbose] [--dump FILE]`;

function integer(value: string | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max}\n${USAGE}`);
  }
  return n;
}

/** Parses the flags; an unknown or malformed flag throws with the usage text. */
export function parseOptions(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      instances: { type: 'string', default: '3' },
      users: { type: 'string', default: '100' },
      plant: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      dump: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const plant = values.plant;
  if (plant !== undefined && !(PLANTS as readonly string[]).includes(plant)) {
    throw new Error(`--plant must be one of ${PLANTS.join(', ')}\n${USAGE}`);
  }
  return {
    seconds: integer(values.seconds, 'seconds', 15, 3600),
    // Without --seed a fresh one, printed in the report so that the run can be repeated.
    seed:
      values.seed === undefined
        ? Math.floor(Math.random() * 2 ** 31)
        : integer(values.seed, 'seed', 0, 2 ** 31 - 1),
    instances: integer(values.instances, 'instances', 2, 3),
    users: integer(values.users, 'users', 1, 500),
    plant: plant as Plant | undefined,
    verbose: values.verbose,
    dump: values.dump,
  };
}
