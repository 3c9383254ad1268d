/**
 * Side-by-side measurement: variants run in alternation, round after round, and each
 * figure is the median of per-round ratios with their spread. Absolute times on a shared
 * machine drift; a ratio of two runs made seconds apart does much less.
 */

/** A median with the smallest and largest value it was taken from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** The median, minimum and maximum of `values` (at least one). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return {
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    values: [...values],
  };
}

/** The per-round ratios `a[i] / b[i]`, as a spread. */
export function ratio(a: readonly number[], b: readonly number[]): Spread {
  if (a.length !== b.length) throw new Error('ratio of series of different lengths');
  return spread(a.map((value, i) => value / (b[i] as number)));
}

/**
 * Runs every variant once per round, `rounds` times, starting each round with a
 * different variant and reversing the order every other round, so that no variant
 * always runs first or right after a given other. Returns each variant's measurements
 * in round order.
 */
export async function alternate<K extends string>(
  rounds: number,
  variants: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(round + i) % names.length] as K);
    if (round % 2 === 1) order.reverse();
    for (const name of order) results[name].push(await variants[name]());
  }
  return results;
}

/** Formats a spread as `0.98 (0.96–1.01)`. */
export function formatSpread(value: Spread, digits = 2): string {
  return `${value.median.toFixed(digits)} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})`;
}
