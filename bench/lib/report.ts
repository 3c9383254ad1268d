/**
 * The rows of the benchmark table, the table as text, and the JSON written beside it.
 */
import { cpus, totalmem } from 'node:os';
import type { Spread } from './stats.ts';

/** What a figure must be to meet its target. */
export interface Target {
  op: '>=' | '<=' | '<' | '=';
  value: number;
}

/** One figure of the table. */
export interface Row {
  /** The benchmark it belongs to. */
  bench: string;
  /** What it is, in words. */
  figure: string;
  /** The figure: a median for a ratio or rate, else a count or size. */
  value: number;
  /** Smallest and largest per-round value, for figures measured in rounds. */
  spread?: { min: number; max: number; values: number[] };
  unit?: string;
  target?: Target;
  /** Whether the target was met; absent for figures without one. */
  met?: boolean;
  /** A peer (another library) measured the same way, for comparison. */
  peer?: boolean;
  /** What the target is checked on: the median (default) or the worst round. */
  judge?: 'median' | 'worst';
}

/** How a row is made. */
export interface RowExtra {
  unit?: string;
  target?: Target;
  peer?: boolean;
  judge?: 'median' | 'worst';
}

function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    case '=':
      return value === target.value;
  }
}

/** A row for a figure measured in rounds. */
export function spreadRow(bench: string, figure: string, value: Spread, extra: RowExtra = {}): Row {
  const row: Row = {
    bench,
    figure,
    value: value.median,
    spread: { min: value.min, max: value.max, values: value.values },
    ...extra,
  };
  const { target } = extra;
  if (target) {
    row.met =
      extra.judge === 'worst'
        ? value.values.every((v) => meets(v, target))
        : meets(value.median, target);
  }
  return row;
}

/** A row for a single count or size. */
export function valueRow(bench: string, figure: string, value: number, extra: RowExtra = {}): Row {
  const row: Row = { bench, figure, value, ...extra };
  if (extra.target) row.met = meets(value, extra.target);
  return row;
}

function number(value: number, unit: string | undefined): string {
  if (unit === 'MB') return value.toFixed(1);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** The table as Markdown, one line per row, columns aligned as the formatter aligns them. */
export function table(rows: readonly Row[]): string {
  const header = ['benchmark', 'figure', 'median', 'spread (min–max)', 'target', 'met'];
  const cells = rows.map((row) => {
    const unit = row.unit ? ` ${row.unit}` : '';
    const spread = row.spread
      ? `${number(row.spread.min, row.unit)}–${number(row.spread.max, row.unit)}`
      : '';
    const target = row.target
      ? `${row.target.op} ${row.target.value}${unit}${row.judge === 'worst' ? ' every round' : ''}`
      : '';
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    const figure = row.peer ? `${row.figure} (peer)` : row.figure;
    return [row.bench, figure, `${number(row.value, row.unit)}${unit}`, spread, target, met];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, 3, ...cells.map((line) => (line[i] as string).length)),
  );
  const line = (values: string[]) =>
    `| ${values.map((value, i) => value.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** The machine the figures were measured on. */
export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}
