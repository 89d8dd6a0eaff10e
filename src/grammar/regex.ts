// JSON Schema `pattern` (an ECMAScript regex, `u` flag semantics) → GBNF for the JSON string's content; a subset.
import { complementRanges, MAX_CODE_POINT, type CpRange } from "./ast";
import { GrammarError } from "./errors";
import { jsonCharExpr } from "./gbnf-text";
import { MAX_REPEAT } from "./gbnf";

type RNode =
  | { k: "set"; ranges: CpRange[] }
  | { k: "seq"; items: RNode[] }
  | { k: "alt"; alts: RNode[] }
  | { k: "rep"; item: RNode; min: number; max: number }
  | { k: "bol" }
  | { k: "eol" };

const DIGIT: CpRange[] = [[0x30, 0x39]];
const WORD: CpRange[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: CpRange[] = [[9, 13], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]];
const DOT: CpRange[] = complementRanges([[10, 10], [13, 13], [0x2028, 0x2029]]);
const SYNTAX = "^$\\.*+?()[]{}|/-";

/**
 * Compiles a pattern to GBNF matching the JSON-escaped content of the strings it accepts. Supported: literals, `.`,
 * classes with ranges and negation, \d \D \w \W \s \S, \t \n \r \v \f \0 \xHH \uHHHH \u{...}, groups `( )` `(?: )`
 * `(?<name> )`, `|`, `* + ? {n} {n,} {n,m}` (lazy forms too: same language), `^` and `$` at the ends of top-level
 * alternatives (an unanchored side may have any text). Lookaround, backreferences, \b \B, \p{...} and anchors
 * elsewhere are GrammarErrors. `anyChar` is the GBNF of one arbitrary JSON string character.
 */
export function patternToGbnf(pattern: string, anyChar: string, path: string): string {
  let pos = 0;
  const fail = (what: string): never => {
    throw new GrammarError("pattern", `JSON Schema at "${path}": pattern ${JSON.stringify(pattern)}: ${what} is not supported`, { path, feature: `pattern: ${what}` });
  };
  const peek = () => pattern[pos];

  const readCodePoint = (): number => {
    const cp = pattern.codePointAt(pos)!;
    pos += cp > 0xffff ? 2 : 1;
    return cp;
  };
  const hex = (n: number): number => {
    const s = pattern.slice(pos, pos + n);
    if (!/^[0-9a-fA-F]+$/.test(s) || s.length !== n) fail("a malformed hex escape");
    pos += n;
    return parseInt(s, 16);
  };
  /** After a backslash: a set of code points. */
  const escape = (inClass: boolean): CpRange[] => {
    const c = pattern[pos++];
    if (c === undefined) return fail("a trailing backslash");
    const one = (cp: number): CpRange[] => [[cp, cp]];
    switch (c) {
      case "d": return DIGIT;
      case "D": return complementRanges(DIGIT);
      case "w": return WORD;
      case "W": return complementRanges(WORD);
      case "s": return SPACE;
      case "S": return complementRanges(SPACE);
      case "t": return one(9);
      case "n": return one(10);
      case "r": return one(13);
      case "v": return one(11);
      case "f": return one(12);
      case "0": return one(0);
      case "x": return one(hex(2));
      case "u":
        if (peek() === "{") {
          const end = pattern.indexOf("}", pos);
          const v = end < 0 ? NaN : parseInt(pattern.slice(pos + 1, end), 16);
          if (!(v <= MAX_CODE_POINT)) fail("a malformed \\u{...} escape");
          pos = end + 1;
          return one(v);
        }
        return one(hex(4));
      case "b":
        if (inClass) return one(8);
        return fail("\\b (word boundary)");
      case "B": return fail("\\B (non-word boundary)");
      case "p": case "P": return fail("\\p{...} (Unicode property escapes)");
      case "k": return fail("\\k<...> (named backreferences)");
      case "c": return fail("\\c (control escapes)");
      default:
        if (/[1-9]/.test(c)) return fail("backreferences");
        if (SYNTAX.includes(c)) return one(c.charCodeAt(0));
        return fail(`the escape \\${c}`);
    }
  };

  const parseClass = (): RNode => {
    pos++; // [
    let negated = false;
    if (peek() === "^") {
      negated = true;
      pos++;
    }
    const ranges: CpRange[] = [];
    while (peek() !== "]") {
      if (pos >= pattern.length) fail("an unterminated class");
      const lo = peek() === "\\" ? (pos++, escape(true)) : [[readCodePoint(), 0] as CpRange].map(([a]) => [a, a] as CpRange);
      if (peek() === "-" && pattern[pos + 1] !== "]" && pos + 1 < pattern.length) {
        pos++;
        const hi = peek() === "\\" ? (pos++, escape(true)) : [[readCodePoint(), 0] as CpRange].map(([a]) => [a, a] as CpRange);
        if (lo.length !== 1 || hi.length !== 1 || lo[0]![0] !== lo[0]![1] || hi[0]![0] !== hi[0]![1]) fail("a class range with a class escape");
        if (hi[0]![0] < lo[0]![0]) fail("an out-of-order class range");
        ranges.push([lo[0]![0], hi[0]![0]]);
      } else ranges.push(...lo);
    }
    pos++;
    return { k: "set", ranges: negated ? complementRanges(ranges) : ranges };
  };

  const quantifier = (item: RNode): RNode => {
    let min: number;
    let max: number;
    const c = peek();
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(pos));
      if (!m) return fail("a malformed {n,m} quantifier");
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      if (max < min) fail("a {n,m} quantifier with m < n");
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(`a repetition count above ${MAX_REPEAT}`);
      pos += m[0].length - 1;
    } else return item;
    pos++;
    if (peek() === "?") pos++; // lazy: same language
    if (item.k === "bol" || item.k === "eol") fail("a quantified anchor");
    if (peek() === "*" || peek() === "+" || peek() === "?" || peek() === "{") fail("a double quantifier");
    return { k: "rep", item, min, max };
  };

  const alternatives = (): RNode => {
    const alts: RNode[] = [];
    for (;;) {
      const items: RNode[] = [];
      while (pos < pattern.length && peek() !== "|" && peek() !== ")") {
        const c = peek()!;
        let atom: RNode;
        if (c === "(") {
          pos++;
          if (pattern.startsWith("?:", pos)) pos += 2;
          else if (/^\?<[A-Za-z_$][\w$]*>/.test(pattern.slice(pos))) pos = pattern.indexOf(">", pos) + 1;
          else if (peek() === "?") fail("lookaround assertions");
          atom = alternatives();
          if (peek() !== ")") fail("an unclosed group");
          pos++;
        } else if (c === "[") atom = parseClass();
        else if (c === ".") (pos++, (atom = { k: "set", ranges: DOT }));
        else if (c === "^") (pos++, (atom = { k: "bol" }));
        else if (c === "$") (pos++, (atom = { k: "eol" }));
        else if (c === "\\") (pos++, (atom = { k: "set", ranges: escape(false) }));
        else if (c === "*" || c === "+" || c === "?" || c === "{") atom = fail(`a quantifier with nothing before it`);
        else {
          const cp = readCodePoint();
          atom = { k: "set", ranges: [[cp, cp]] };
        }
        items.push(quantifier(atom));
      }
      alts.push({ k: "seq", items });
      if (peek() !== "|") break;
      pos++;
    }
    return alts.length === 1 ? alts[0]! : { k: "alt", alts };
  };

  const emit = (n: RNode): string => {
    switch (n.k) {
      case "set": {
        const e = jsonCharExpr(n.ranges);
        return e ?? fail("an empty character class");
      }
      case "seq": return n.items.length === 0 ? '""' : "(" + n.items.map(emit).join(" ") + ")";
      case "alt": return "(" + n.alts.map(emit).join(" | ") + ")";
      case "rep": return `${emit(n.item)}${n.max === Infinity ? (n.min === 0 ? "*" : n.min === 1 ? "+" : `{${n.min},}`) : `{${n.min},${n.max}}`}`;
      case "bol": case "eol": return fail("an anchor (^ or $) inside the pattern");
    }
  };

  const top = alternatives();
  if (pos < pattern.length) fail("an unmatched ')'");
  const alts = top.k === "alt" ? top.alts : [top];
  return "(" + alts.map((a) => {
    const items = a.k === "seq" ? [...a.items] : [a];
    const anchoredStart = items[0]?.k === "bol";
    if (anchoredStart) items.shift();
    const anchoredEnd = items[items.length - 1]?.k === "eol";
    if (anchoredEnd) items.pop();
    const body = items.length === 0 ? '""' : items.map(emit).join(" ");
    return `${anchoredStart ? "" : anyChar + "* "}${body}${anchoredEnd ? "" : " " + anyChar + "*"}`;
  }).join(" | ") + ")";
}
