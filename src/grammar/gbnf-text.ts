// Writing GBNF text: literals, classes, and JSON-string-escaped character sets (for schema patterns and formats).
import { normalizeRanges, type CpRange } from "./ast";

/** A GBNF string literal matching exactly `s` (non-ASCII kept as is; the parser reads code points). */
export function gbnfLit(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

const hexEsc = (cp: number): string => "\\U" + cp.toString(16).padStart(8, "0");

/** A GBNF class of code point ranges, every bound written as \UXXXXXXXX so nothing needs escaping. */
export function gbnfClass(ranges: readonly CpRange[]): string {
  return "[" + normalizeRanges(ranges).map(([lo, hi]) => (lo === hi ? hexEsc(lo) : `${hexEsc(lo)}-${hexEsc(hi)}`)).join("") + "]";
}

/**
 * GBNF for one character of a set as it appears inside a JSON string: the raw character, or for `"`, `\` and control
 * characters (which JSON must escape) one escaped spelling. null when the set is empty.
 */
export function jsonCharExpr(ranges: readonly CpRange[]): string | null {
  const set = normalizeRanges(ranges);
  const has = (cp: number) => set.some(([lo, hi]) => lo <= cp && cp <= hi);
  const raw: CpRange[] = [];
  for (const [lo, hi] of set) {
    // Cut out 0x00-0x1F, 0x22 and 0x5C.
    let a = Math.max(lo, 0x20);
    for (const cut of [0x22, 0x5c]) {
      if (a <= cut && cut <= hi) {
        if (a < cut) raw.push([a, cut - 1]);
        a = cut + 1;
      }
    }
    if (a <= hi) raw.push([a, hi]);
  }
  const parts: string[] = [];
  if (raw.length === 1 && raw[0]![0] === raw[0]![1] && raw[0]![0] > 0x20) parts.push(gbnfLit(String.fromCodePoint(raw[0]![0])));
  else if (raw.length > 0) parts.push(gbnfClass(raw));
  if (has(0x22)) parts.push(gbnfLit('\\"'));
  if (has(0x5c)) parts.push(gbnfLit("\\\\"));
  const short: Record<number, string> = { 8: "b", 9: "t", 10: "n", 12: "f", 13: "r" };
  for (let c = 0; c < 0x20; c++) if (has(c)) parts.push(gbnfLit("\\" + (short[c] ?? "u" + c.toString(16).padStart(4, "0"))));
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0]! : "(" + parts.join(" | ") + ")";
}
