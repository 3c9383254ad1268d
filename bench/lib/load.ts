/**
 * Load runs with autocannon, in this process, against a server in another process.
 */
import autocannon from 'autocannon';

/** One load run. */
export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Seconds, for a timed run. */
  duration?: number;
  /** Requests in all, for a counted run (takes precedence over `duration`). */
  amount?: number;
  connections?: number;
  /** Called before each request; returns the headers of that request. */
  perRequestHeaders?: () => Record<string, string>;
}

/** What a load run measured. */
export interface LoadResult {
  /** Answered requests per second. */
  rate: number;
  /** Answered requests. */
  total: number;
  /** Seconds. */
  seconds: number;
}

/**
 * Runs autocannon and returns the answered requests per second. Any non-2xx answer or
 * connection error fails the run: a benchmark of error pages measures nothing.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const perRequest = options.perRequestHeaders;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    body: options.body,
    connections: options.connections ?? 10,
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
    duration: options.duration ?? 2,
    ...(perRequest
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                headers: { ...request.headers, ...perRequest() },
              }),
            },
          ],
        }
      : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `load on ${new URL(options.url).pathname} got ${result.non2xx} non-2xx answers and ${result.errors} errors (statuses ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  const total = result['2xx'];
  return { rate: total / result.duration, total, seconds: result.duration };
}
