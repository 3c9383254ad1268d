/**
 * Module hooks that put bench/lib/undici-http-client.ts in the place of the package's
 * node:http client, for every importer but that file itself (which re-exports the rest of
 * the real module). Registered by use-undici.ts in a benchmark's child process.
 */
const REAL = '/lib/core/http-client.ts';
const STAND_IN = new URL('./undici-http-client.ts', import.meta.url).href;

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<Resolved>;

/** Resolves as usual, then swaps the client module for the undici one. */
export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  nextResolve: NextResolve,
): Promise<Resolved> {
  const resolved = await nextResolve(specifier, context);
  if (resolved.url.endsWith(REAL) && context.parentURL !== STAND_IN) {
    return { ...resolved, url: STAND_IN };
  }
  return resolved;
}
