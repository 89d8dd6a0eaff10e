// Decimal integer and number ranges as GBNF (bounds enforced by the grammar, as llama.cpp's json-schema-to-grammar does).
import { gbnfLit } from "./gbnf-text";

/** Most integral digits generated when a side is unbounded (keeps values finite and below 1e16). */
export const MAX_INT_DIGITS = 16;

const alt = (parts: string[]): string => (parts.length === 1 ? parts[0]! : "(" + parts.join(" | ") + ")");

/** Same-length digit strings a ≤ b: every digit string of that length between them. */
function fixedRange(a: string, b: string): string {
  if (a.length === 0) return "";
  if (a === b) return gbnfLit(a);
  if (a[0] === b[0]) return `${gbnfLit(a[0]!)} ${fixedRange(a.slice(1), b.slice(1))}`;
  const rest = a.length - 1;
  const lowAll = a.slice(1) === "0".repeat(rest);
  const highAll = b.slice(1) === "9".repeat(rest);
  const anyRest = rest === 0 ? "" : ` [0-9]{${rest}}`;
  const parts: string[] = [];
  const first = Number(a[0]) + (lowAll ? 0 : 1);
  const last = Number(b[0]) - (highAll ? 0 : 1);
  if (!lowAll) parts.push(`${gbnfLit(a[0]!)} ${fixedRange(a.slice(1), "9".repeat(rest))}`);
  if (first <= last) parts.push(`[${first}-${last}]${anyRest}`);
  if (!highAll) parts.push(`${gbnfLit(b[0]!)} ${fixedRange("0".repeat(rest), b.slice(1))}`);
  return alt(parts);
}

/** Decimal spellings (no leading zeros) of the integers in [lo, hi], lo ≥ 0; hi null = up to MAX_INT_DIGITS digits. */
export function uintRange(lo: number, hi: number | null): string {
  const loLen = String(lo).length;
  const parts: string[] = [];
  if (hi === null) {
    parts.push(fixedRange(String(lo), "9".repeat(loLen)));
    if (loLen < MAX_INT_DIGITS) parts.push(`[1-9] [0-9]{${loLen},${MAX_INT_DIGITS - 1}}`);
    return alt(parts);
  }
  const hiLen = String(hi).length;
  for (let len = loLen; len <= hiLen; len++) {
    const a = len === loLen ? String(lo) : "1" + "0".repeat(len - 1);
    const b = len === hiLen ? String(hi) : "9".repeat(len);
    parts.push(fixedRange(a, b));
  }
  return alt(parts);
}

/** Integers in [lo, hi] (null = unbounded on that side). */
export function intRange(lo: number | null, hi: number | null): string {
  const parts: string[] = [];
  if (hi === null || hi >= 0) parts.push(uintRange(Math.max(lo ?? 0, 0), hi));
  if (lo === null || lo < 0) parts.push(`"-" ${uintRange(hi !== null && hi < 0 ? -hi : 1, lo === null ? null : -lo)}`);
  return alt(parts);
}

const FRAC = `("." [0-9]{1,${MAX_INT_DIGITS}})?`;
const ZERO_FRAC = `("." "0"{1,${MAX_INT_DIGITS}})?`;

/** Non-negative decimals (no exponent) with magnitude in [a, b]; a, b integers, b null = unbounded. */
function magnitude(a: number, b: number | null): string {
  if (b === null) return `${uintRange(a, null)} ${FRAC}`;
  if (a === b) return `${gbnfLit(String(b))} ${ZERO_FRAC}`;
  return `(${uintRange(a, b - 1)} ${FRAC} | ${gbnfLit(String(b))} ${ZERO_FRAC})`;
}

/** Decimal numbers (no exponent) in [lo, hi] for integer bounds (null = unbounded; not both). */
export function numberRange(lo: number | null, hi: number | null): string {
  if (lo !== null && lo >= 0) return magnitude(lo, hi);
  if (hi !== null && hi <= 0) return `"-" ${magnitude(-hi, lo === null ? null : -lo)}`;
  return `(${magnitude(0, hi)} | "-" ${magnitude(0, lo === null ? null : -lo)})`;
}
