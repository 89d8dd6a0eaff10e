// GBNF parser (llama.cpp's grammar syntax) into the grammar AST, with line/column errors.
import { complementRanges, normalizeRanges, MAX_CODE_POINT, type CpRange, type GNode, type GRule } from "./ast";
import { gbnfError } from "./errors";

/** Largest count accepted in `{m,n}` (each repetition is expanded into rule copies). */
export const MAX_REPEAT = 10_000;

const isWordChar = (c: string): boolean => /[A-Za-z0-9_-]/.test(c);

/**
 * Parses GBNF: `name ::= alternatives` rules; `|`, `( )`, `* + ?`, `{m}`, `{m,}`, `{m,n}`, "literals" and [classes]
 * with \n \r \t \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH escapes, `[^...]`, `.` (any code point), `#` comments.
 * A rule ends where the next `name ::=` begins, so alternatives may continue over several lines.
 */
export function parseGbnf(text: string): GRule[] {
  let pos = 0;
  const err = (message: string, at = pos) => gbnfError(text, at, message);

  const skipSpace = (): void => {
    while (pos < text.length) {
      const c = text[pos]!;
      if (c === "#") {
        while (pos < text.length && text[pos] !== "\n") pos++;
      } else if (c === " " || c === "\t" || c === "\n" || c === "\r") pos++;
      else break;
    }
  };
  const readName = (): string => {
    const start = pos;
    while (pos < text.length && isWordChar(text[pos]!)) pos++;
    if (pos === start) throw err("expected a rule name");
    return text.slice(start, pos);
  };
  /** True when a `name ::=` starts at pos (the end of the current rule). */
  const atRuleStart = (): boolean => /^[A-Za-z0-9_-]+[ \t]*::=/.test(text.slice(pos, pos + 200));

  const readHex = (n: number): number => {
    const s = text.slice(pos, pos + n);
    if (s.length !== n || !/^[0-9a-fA-F]+$/.test(s)) throw err(`expected ${n} hex digits`);
    pos += n;
    return parseInt(s, 16);
  };
  /** One (possibly escaped) code point inside a literal or class. */
  const readChar = (): number => {
    if (pos >= text.length) throw err("unexpected end of input");
    if (text[pos] === "\\") {
      pos++;
      const e = text[pos++];
      switch (e) {
        case "n": return 10;
        case "r": return 13;
        case "t": return 9;
        case "0": return 0;
        case "\\": case '"': case "[": case "]": case "'": case "-": case "^": case "/": return e.charCodeAt(0);
        case "x": return readHex(2);
        case "u": return readHex(4);
        case "U": {
          const cp = readHex(8);
          if (cp > MAX_CODE_POINT) throw err("code point out of range", pos - 8);
          return cp;
        }
        default: throw err(`unknown escape \\${e ?? ""}`, pos - 2);
      }
    }
    const cp = text.codePointAt(pos)!;
    pos += cp > 0xffff ? 2 : 1;
    return cp;
  };

  const parseLiteral = (): GNode => {
    const start = pos++;
    const cps: number[] = [];
    while (true) {
      if (pos >= text.length || text[pos] === "\n") throw err("unterminated string literal", start);
      if (text[pos] === '"') break;
      cps.push(readChar());
    }
    pos++;
    const bytes = [...new TextEncoder().encode(String.fromCodePoint(...cps.filter((c) => c < 0xd800 || c > 0xdfff)))];
    if (cps.some((c) => c >= 0xd800 && c <= 0xdfff)) throw err("surrogate code points cannot be encoded as UTF-8", start);
    return { k: "lit", bytes };
  };

  const parseClass = (): GNode => {
    const start = pos++;
    let negated = false;
    if (text[pos] === "^") {
      negated = true;
      pos++;
    }
    const ranges: CpRange[] = [];
    while (true) {
      if (pos >= text.length) throw err("unterminated character class", start);
      if (text[pos] === "]") break;
      const lo = readChar();
      let hi = lo;
      if (text[pos] === "-" && text[pos + 1] !== "]" && pos + 1 < text.length) {
        pos++;
        hi = readChar();
        if (hi < lo) throw err("character range is out of order", pos - 1);
      }
      ranges.push([lo, hi]);
    }
    pos++;
    return { k: "class", ranges: negated ? complementRanges(ranges) : normalizeRanges(ranges) };
  };

  const readInt = (): number => {
    const m = /^[0-9]+/.exec(text.slice(pos, pos + 12));
    if (!m) throw err("expected a number");
    pos += m[0].length;
    return Number(m[0]);
  };

  const parseQuantifier = (item: GNode): GNode => {
    const c = text[pos];
    if (c === "*") return pos++, { k: "rep", item, min: 0, max: Infinity };
    if (c === "+") return pos++, { k: "rep", item, min: 1, max: Infinity };
    if (c === "?") return pos++, { k: "rep", item, min: 0, max: 1 };
    if (c !== "{") return item;
    const start = pos++;
    skipSpace();
    const min = readInt();
    skipSpace();
    let max = min;
    if (text[pos] === ",") {
      pos++;
      skipSpace();
      max = text[pos] === "}" ? Infinity : readInt();
      skipSpace();
    }
    if (text[pos] !== "}") throw err("expected '}' to close the repetition");
    pos++;
    if (max < min) throw err(`repetition {${min},${max}} has max < min`, start);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) throw err(`repetition count above ${MAX_REPEAT}`, start);
    return { k: "rep", item, min, max };
  };

  /** Alternatives until `)` (nested) or the next rule / end of text (top level). */
  const parseAlternatives = (nested: boolean): GNode => {
    const alts: GNode[] = [];
    while (true) {
      const items: GNode[] = [];
      while (true) {
        skipSpace();
        if (pos >= text.length || text[pos] === "|" || text[pos] === ")") break;
        if (!nested && atRuleStart()) break;
        const c = text[pos]!;
        let item: GNode;
        if (c === '"') item = parseLiteral();
        else if (c === "[") item = parseClass();
        else if (c === ".") {
          pos++;
          item = { k: "class", ranges: [[0, MAX_CODE_POINT]] };
        } else if (c === "(") {
          const open = pos++;
          item = parseAlternatives(true);
          if (text[pos] !== ")") throw err("expected ')'", open);
          pos++;
        } else if (isWordChar(c)) {
          const at = pos;
          item = { k: "ref", name: readName(), at };
        } else throw err(`unexpected character '${c}'`);
        items.push(parseQuantifier(item));
      }
      alts.push(items.length === 1 ? items[0]! : { k: "seq", items });
      if (text[pos] === "|") {
        pos++;
        continue;
      }
      if (text[pos] === ")" && !nested) throw err("unmatched ')'");
      break;
    }
    return alts.length === 1 ? alts[0]! : { k: "alt", alts };
  };

  const rules: GRule[] = [];
  const seen = new Set<string>();
  skipSpace();
  while (pos < text.length) {
    const at = pos;
    const name = readName();
    skipSpace();
    if (text.slice(pos, pos + 3) !== "::=") throw err("expected '::='");
    pos += 3;
    if (seen.has(name)) throw err(`rule '${name}' is defined twice`, at);
    seen.add(name);
    rules.push({ name, body: parseAlternatives(false), at });
    skipSpace();
  }
  if (!seen.has("root")) throw err("grammar has no 'root' rule", 0);
  return rules;
}
