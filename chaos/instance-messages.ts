/**
 * What an app instance tells the driver over the IPC channel, and the environment the
 * driver starts it with.
 */
import type { Plant } from './options.ts';

/** The instance listens and its Redis client is connected. */
export interface ReadyMessage {
  type: 'ready';
}

/** The instance answered a request with an error status (no token is ever in it). */
export interface ErrorMessage {
  type: 'error';
  status: number;
  /** The error's `code` or name, such as `ARGUS_TIMEOUT`. */
  code: string;
  /** The first line of the message, for the report. */
  message: string;
}

/** A message from an instance. */
export type InstanceMessage = ReadyMessage | ErrorMessage;

/** The environment of an instance process. */
export interface InstanceEnv {
  CHAOS_PORT: string;
  CHAOS_REDIS_URL: string;
  CHAOS_ARGUS_URL: string;
  CHAOS_PLANT: Plant | '';
}
