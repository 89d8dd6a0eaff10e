// Code point ranges lowered to UTF-8 byte-range sequences, so the matcher works on bytes (tokens split characters anywhere).
import type { CpRange } from "./ast";

/** One UTF-8 encoding pattern: an inclusive byte range per byte position. */
export type ByteSeq = [number, number][];

function encode(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}

const encodedLength = (cp: number): number => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

/**
 * Splits [lo, hi] into pieces whose UTF-8 encodings are a product of per-byte ranges (the construction of Rust's
 * regex-syntax Utf8Sequences): first at the encoded-length boundaries, then wherever a continuation byte wraps.
 * Surrogates (U+D800..U+DFFF) have no UTF-8 encoding and are dropped.
 */
function split(lo: number, hi: number, out: ByteSeq[]): void {
  if (lo > hi) return;
  if (lo <= 0xdfff && hi >= 0xd800) {
    split(lo, 0xd7ff, out);
    split(0xe000, hi, out);
    return;
  }
  for (const b of [0x7f, 0x7ff, 0xffff]) {
    if (lo <= b && hi > b) {
      split(lo, b, out);
      split(b + 1, hi, out);
      return;
    }
  }
  const n = encodedLength(lo);
  for (let i = 1; i < n; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        split(lo, lo | m, out);
        split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) !== m) {
        split(lo, (hi & ~m) - 1, out);
        split(hi & ~m, hi, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((x, i) => [x, b[i]!] as [number, number]));
}

/** UTF-8 byte-range sequences matching exactly the code points in `ranges` (surrogates excluded). */
export function utf8Sequences(ranges: readonly CpRange[]): ByteSeq[] {
  const out: ByteSeq[] = [];
  for (const [lo, hi] of ranges) split(lo, hi, out);
  return out;
}
