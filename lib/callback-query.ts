/**
 * A login callback's query string, read without building a URL when it needs no decoding:
 * the common callback (`?code=…&state=…`, letters, digits and `-_.~`) is split as
 * URLSearchParams would split it; anything else goes through the URL parser as before, so
 * every strict check downstream sees exactly the values it always saw.
 */

/** The parameters of a callback's query, as `URLSearchParams` reads them. */
export type QueryParams = Pick<URLSearchParams, 'getAll' | 'has'>;

/** A login callback's query. */
export interface CallbackQuery {
  /** Its parameters, decoded as `URLSearchParams` decodes them. */
  readonly params: QueryParams;
  /** The raw query with its `?`, or `''` when it has none: as `URL.search` gives it. */
  readonly search: string;
}

/**
 * A request target whose path the URL parser leaves as it is (letters, digits, `_`, `-`
 * and `/`, not starting with `//`, which a URL would read as a host) and whose query holds
 * only characters that neither URL parsing nor form decoding changes: no `%`, no `+`, no
 * `#`, nothing that a URL would escape.
 */
const PLAIN_TARGET = /^(\/(?!\/)[\w/-]*)(?:\?([\w.~=&-]*))?$/;

/** A plain target split into its path and query; `undefined` when it is not plain. */
export function plainTarget(raw: string): { path: string; query: CallbackQuery } | undefined {
  const match = PLAIN_TARGET.exec(raw);
  if (match === null) return undefined;
  const path = match[1] as string;
  const text = match[2] ?? '';
  return { path, query: { params: new PlainParams(text), search: text === '' ? '' : `?${text}` } };
}

/** The query of a parsed URL. */
export function urlQuery(url: URL): CallbackQuery {
  return { params: url.searchParams, search: url.search };
}

const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * True when the query has a `%` not followed by two hex digits: URLSearchParams keeps such
 * a broken escape (`%ZZ`) as literal text, and a callback that carries one is refused.
 */
export function hasBrokenEscape(query: CallbackQuery): boolean {
  return BROKEN_ESCAPE.test(query.search);
}

/**
 * The parameters of a query with nothing to decode, split as `URLSearchParams` splits
 * one: on `&`, skipping empty pieces, each name up to its first `=`.
 */
class PlainParams implements QueryParams {
  readonly #pairs: [string, string][] = [];

  constructor(text: string) {
    for (const piece of text.split('&')) {
      if (piece === '') continue;
      const at = piece.indexOf('=');
      this.#pairs.push(at === -1 ? [piece, ''] : [piece.slice(0, at), piece.slice(at + 1)]);
    }
  }

  /** The values of `name`, in order. */
  getAll(name: string): string[] {
    const values: string[] = [];
    for (const [key, value] of this.#pairs) if (key === name) values.push(value);
    return values;
  }

  /** True when `name` is given at least once. */
  has(name: string): boolean {
    return this.#pairs.some(([key]) => key === name);
  }
}
