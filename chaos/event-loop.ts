/**
 * How late the driver's event loop ran: the emulator lives in the driver, so a starved
 * driver answers Argus calls late, and the apps time out on answers that were on their way.
 * The report shows it, so that a run on a busy machine is read as such.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The lag above which the report warns that timeouts may be the machine's doing, in ms. */
export const BUSY_LAG = 250;

/** Starts measuring; `stop()` returns the 99th percentile and the maximum lag, in ms. */
export function watchEventLoop(): { stop(): { p99: number; max: number } } {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 };
    },
  };
}
