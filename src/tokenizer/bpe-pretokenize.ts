// Pre-tokenization as llama.cpp's unicode_regex_split: regexes applied in sequence, then GPT-2 byte encoding.
//
// llama.cpp runs a regex that uses \p{...} on a "collapsed" text, each non-ASCII code point replaced by one marker
// byte for its category (from llama.cpp's own table) and non-ASCII whitespace by \v, with \p{L} rewritten to
// [<letter marker>A-Za-z] and so on. We do the same with JavaScript regexes, so what \p{L} matches is llama.cpp's
// table, not the engine's Unicode version. Regexes without \p{...} run on code points (llama.cpp's std::wregex),
// where \s is ASCII whitespace plus the \v that stands for non-ASCII whitespace.
import { BYTE_TO_CHAR, Category, WHITESPACE_BIT, codePointClass } from "./unicode";

/** \p{...} classes llama.cpp collapses; \p{Lu} and friends all become "letter" there. */
const CLASS_CATEGORY: Record<string, number> = {
  "\\p{N}": Category.NUMBER,
  "\\p{L}": Category.LETTER,
  "\\p{P}": Category.PUNCTUATION,
  "\\p{M}": Category.MARK,
  "\\p{S}": Category.SYMBOL,
  "\\p{Lu}": Category.LETTER,
  "\\p{Ll}": Category.LETTER,
  "\\p{Lt}": Category.LETTER,
  "\\p{Lm}": Category.LETTER,
  "\\p{Lo}": Category.LETTER,
};

/** Marker of each category in the collapsed text (llama.cpp's bytes 0xD1..0xD5; 0xD0 for everything else). */
const MARKER = ["\xD0", "\xD1", "\xD2", "\xD0", "\xD4", "\xD3", "\xD5", "\xD0"];
/** The ASCII members of each class, kept in the rewritten regex next to the marker (JS class syntax). */
const ASCII_MEMBERS: Record<number, string> = {
  [Category.NUMBER]: "0-9",
  [Category.LETTER]: "A-Za-z",
  [Category.PUNCTUATION]: "!-#%-*,-/:;?@\\[-\\]_\\{\\}",
  [Category.MARK]: "",
  [Category.SYMBOL]: "$+<->\\^`|~",
};
/** C's isspace: what std::regex's \s matches (llama.cpp runs it in the "C" locale). */
const ASCII_SPACE = "\\t-\\r ";

export interface CompiledRegex {
  readonly re: RegExp;
  /** Runs on the collapsed text (the regex uses \p{...}). */
  readonly collapsed: boolean;
}

/** Rewrites one of llama.cpp's regexes (std::regex ECMAScript syntax) into a JavaScript RegExp that splits the same way. */
export function compileRegex(source: string): CompiledRegex {
  const collapsed = Object.keys(CLASS_CATEGORY).some((c) => source.includes(c));
  if (collapsed && /[^\x00-\x7f]/.test(source)) {
    throw new Error(`regex mixes unicode categories and non-ASCII characters (llama.cpp rejects it too): ${source}`);
  }
  let out = "";
  let inside = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "[" && (i === 0 || source[i - 1] !== "\\")) {
      inside = true;
      out += c;
      continue;
    }
    if (inside && c === "]" && source[i - 1] !== "\\") {
      inside = false;
      out += c;
      continue;
    }
    if (c !== "\\" || i + 1 >= source.length) {
      out += c;
      continue;
    }
    const next = source[i + 1]!;
    if (next === "p" && collapsed) {
      const close = source.indexOf("}", i + 3);
      const category = close > 0 ? CLASS_CATEGORY[source.slice(i, close + 1)] : undefined;
      if (category !== undefined) {
        const members = MARKER[category]! + ASCII_MEMBERS[category]!;
        out += inside ? members : `[${members}]`;
        i = close;
        continue;
      }
    }
    if (next === "s") out += inside ? ASCII_SPACE : `[${ASCII_SPACE}]`;
    else if (next === "S" && !inside) out += `[^${ASCII_SPACE}]`;
    else out += c + next;
    i++;
  }
  return { re: new RegExp(out, collapsed ? "g" : "gu"), collapsed };
}

/** The text as code points, plus the two views the regexes run on (built only when a regex needs them). */
class SplitText {
  readonly cps: Int32Array;
  private collapsedText: string | undefined;
  private wideText: string | undefined;
  /** UTF-16 offset of each code point of wideText (and its end), and back. */
  private unitOf: Int32Array | undefined;
  private cpOf: Int32Array | undefined;

  constructor(readonly text: string) {
    const cps: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      cps.push(cp);
      if (cp > 0xffff) i++;
    }
    this.cps = Int32Array.from(cps);
  }

  collapsed(): string {
    if (this.collapsedText === undefined) {
      const parts: string[] = new Array<string>(this.cps.length);
      for (let i = 0; i < this.cps.length; i++) {
        const cp = this.cps[i]!;
        if (cp < 0x80) parts[i] = String.fromCharCode(cp);
        else {
          const cls = codePointClass(cp);
          parts[i] = cls & WHITESPACE_BIT ? "\v" : MARKER[cls & 7]!;
        }
      }
      this.collapsedText = parts.join("");
    }
    return this.collapsedText;
  }

  wide(): { text: string; unitOf: Int32Array; cpOf: Int32Array } {
    if (this.wideText === undefined) {
      const n = this.cps.length;
      const unitOf = new Int32Array(n + 1);
      const parts: string[] = new Array<string>(n);
      let units = 0;
      for (let i = 0; i < n; i++) {
        const cp = this.cps[i]!;
        unitOf[i] = units;
        parts[i] = cp >= 0x80 && codePointClass(cp) & WHITESPACE_BIT ? "\v" : String.fromCodePoint(cp);
        units += parts[i]!.length;
      }
      unitOf[n] = units;
      const cpOf = new Int32Array(units + 1);
      for (let i = 0; i < n; i++) cpOf.fill(i, unitOf[i]!, unitOf[i + 1]!);
      cpOf[units] = n;
      this.wideText = parts.join("");
      this.unitOf = unitOf;
      this.cpOf = cpOf;
    }
    return { text: this.wideText, unitOf: this.unitOf!, cpOf: this.cpOf! };
  }
}

/** One regex over every piece: matches and the text between them become pieces (lengths in code points). */
function splitPieces(text: SplitText, regex: CompiledRegex, pieces: number[]): number[] {
  const out: number[] = [];
  const re = regex.re;
  const wide = regex.collapsed ? undefined : text.wide();
  const whole = wide ? wide.text : text.collapsed();
  let start = 0;
  for (const length of pieces) {
    // The collapsed text has one unit per code point; the wide one needs its offset maps.
    const from = wide ? wide.unitOf[start]! : start;
    const sub = whole.slice(from, wide ? wide.unitOf[start + length]! : start + length);
    let done = 0;
    re.lastIndex = 0;
    for (let m = re.exec(sub); m !== null; m = re.exec(sub)) {
      const unitEnd = m.index + m[0].length;
      const at = wide ? wide.cpOf[from + m.index]! - start : m.index;
      const end = wide ? wide.cpOf[from + unitEnd]! - start : unitEnd;
      if (at > done) out.push(at - done);
      if (end > at) out.push(end - at);
      done = end;
      if (m[0].length === 0) re.lastIndex++;
    }
    if (done < length) out.push(length - done);
    start += length;
  }
  return out;
}

/**
 * Splits text into llama.cpp's pre-tokenized words and returns each in GPT-2 byte encoding (every UTF-8 byte of the
 * word as its BYTE_TO_CHAR character), ready for BPE merges.
 */
export function preTokenize(text: string, regexes: readonly CompiledRegex[]): string[] {
  if (text.length === 0) return [];
  const split = new SplitText(text);
  let pieces = [split.cps.length];
  for (const regex of regexes) pieces = splitPieces(split, regex, pieces);
  const words: string[] = [];
  let start = 0;
  for (const length of pieces) {
    let word = "";
    for (let i = start; i < start + length; i++) word += encodeCodePoint(split.cps[i]!);
    words.push(word);
    start += length;
  }
  return words;
}

/** The GPT-2 byte-encoded form of one code point (its UTF-8 bytes, each as BYTE_TO_CHAR). */
function encodeCodePoint(cp: number): string {
  const b = BYTE_TO_CHAR;
  if (cp < 0x80) return b[cp]!;
  if (cp < 0x800) return b[0xc0 | (cp >> 6)]! + b[0x80 | (cp & 0x3f)]!;
  if (cp < 0x10000) return b[0xe0 | (cp >> 12)]! + b[0x80 | ((cp >> 6) & 0x3f)]! + b[0x80 | (cp & 0x3f)]!;
  return b[0xf0 | (cp >> 18)]! + b[0x80 | ((cp >> 12) & 0x3f)]! + b[0x80 | ((cp >> 6) & 0x3f)]! + b[0x80 | (cp & 0x3f)]!;
}
