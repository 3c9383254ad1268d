import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedUser, Settings } from './options.ts';
import type { Clock, EmulatorState } from './state.ts';
import type { EmulatorClient } from './types.ts';

/** What every handler may use: the memory, the clock and the current settings. */
export interface EmulatorContext {
  readonly state: EmulatorState;
  readonly clock: Clock;
  readonly clients: ReadonlyMap<string, EmulatorClient>;
  readonly users: readonly ResolvedUser[];
  settings(): Settings;
}

/** One request with its body already read. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path as sent, not decoded. */
  readonly path: string;
  /** The raw query string without `?`. */
  readonly query: string;
  readonly body: Buffer;
  readonly bodyText: string;
  readonly tooLarge: boolean;
}

/** A handler of one route. */
export type Handler = (ctx: EmulatorContext, ex: Exchange) => void;
