// Code point classes as llama.cpp's unicode.cpp sees them (its own category table), and GPT-2's byte <-> unicode map.
import { CATEGORY_RANGES, WHITESPACE } from "./unicode-data";

/** Categories of llama.cpp's unicode_cpt_flags, as the index of their flag bit. */
export const Category = {
  UNDEFINED: 0,
  NUMBER: 1,
  LETTER: 2,
  SEPARATOR: 3,
  MARK: 4,
  PUNCTUATION: 5,
  SYMBOL: 6,
  CONTROL: 7,
} as const;

/** Set on top of the category in codePointClass() for llama.cpp's whitespace (its \s). */
export const WHITESPACE_BIT = 8;

let table: Uint8Array | undefined;

/**
 * Category | WHITESPACE_BIT of a code point, from llama.cpp's table rather than the JavaScript engine's \p{...}:
 * the engine's Unicode version decides what \p{L} matches, and newer ones know letters llama.cpp calls undefined.
 * The 1.1 MB lookup table is built on first use.
 */
export function codePointClass(cp: number): number {
  const t = (table ??= buildTable());
  return cp >= 0 && cp < t.length ? t[cp]! : Category.UNDEFINED;
}

function buildTable(): Uint8Array {
  const t = new Uint8Array(0x110000);
  let start = 0;
  for (let i = 0; i < CATEGORY_RANGES.length; i += 2) {
    start += CATEGORY_RANGES[i]!;
    const next = i + 2 < CATEGORY_RANGES.length ? start + CATEGORY_RANGES[i + 2]! : t.length;
    t.fill(CATEGORY_RANGES[i + 1]!, start, next);
  }
  for (const cp of WHITESPACE) t[cp]! |= WHITESPACE_BIT;
  return t;
}

/**
 * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes (controls, space,
 * 0x7F-0xA0, 0xAD) take U+0100 onwards in byte order. Every byte maps to one UTF-16 unit.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

/** The inverse of BYTE_TO_CHAR: char code -> byte, -1 for characters that stand for no byte. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (out[c.charCodeAt(0)] = b));
  return out;
})();
