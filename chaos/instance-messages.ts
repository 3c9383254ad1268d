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

/** One of the strategy's events: a refresh done or failed, a logout (no token in it). */
export interface SessionEventMessage {
  type: 'session-event';
  event: 'refresh' | 'refresh-failed' | 'logout';
  user: string;
  /** The error code of a failed refresh, or the reason of a logout. */
  detail?: string;
  at: number;
}

/** A message from an instance. */
export type InstanceMessage = ReadyMessage | ErrorMessage | SessionEventMessage;

/** The environment of an instance process. */
export interface InstanceEnv {
  CHAOS_PORT: string;
  CHAOS_REDIS_URL: string;
  CHAOS_ARGUS_URL: string;
  CHAOS_PLANT: Plant | '';
}
