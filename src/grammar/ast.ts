// Grammar AST shared by the GBNF parser and the lowering to the byte-level rule graph (compile.ts).

/** Inclusive code point range. */
export type CpRange = readonly [number, number];

export type GNode =
  /** A literal string, as UTF-8 bytes. */
  | { readonly k: "lit"; readonly bytes: readonly number[] }
  /** A set of code points (`[a-z]`, `[^"]`, `.`): negation is already applied, so `ranges` is the set itself. */
  | { readonly k: "class"; readonly ranges: readonly CpRange[] }
  /** A reference to a rule by name; `at` is its offset in the GBNF text, for "undefined rule" errors. */
  | { readonly k: "ref"; readonly name: string; readonly at: number }
  | { readonly k: "seq"; readonly items: readonly GNode[] }
  | { readonly k: "alt"; readonly alts: readonly GNode[] }
  /** `max` is Infinity for `*`, `+`, `{m,}`. */
  | { readonly k: "rep"; readonly item: GNode; readonly min: number; readonly max: number };

export interface GRule {
  readonly name: string;
  readonly body: GNode;
  /** Offset of the rule's name in the source text (-1 for generated rules). */
  readonly at: number;
}

export const MAX_CODE_POINT = 0x10ffff;

/** Sorted, merged ranges. */
export function normalizeRanges(ranges: readonly CpRange[]): CpRange[] {
  const sorted = [...ranges].filter((r) => r[0] <= r[1]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** The complement within [0, U+10FFFF]. */
export function complementRanges(ranges: readonly CpRange[]): CpRange[] {
  const out: CpRange[] = [];
  let next = 0;
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export const utf8Bytes = (s: string): number[] => [...new TextEncoder().encode(s)];
