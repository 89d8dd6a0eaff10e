// The mask fast paths (text tokens taken whole by absorption and by length class) against brute force: bounded
// strings, whitespace runs, numbers, patterns, with a vocabulary of long text, space and digit runs.
import { describe, expect, it } from "vitest";
import { ABSORB_CAP, textAbsorb } from "../../src/grammar/absorb";
import { GrammarMatcher, TokenVocab, compileGbnf, compileJsonSchema, maskHas, maskIds, type Grammar } from "../../src/grammar/index";
import { seededRandom } from "../helpers/random";
import { acceptedClone, stateOf, syntheticVocab } from "./grammar-fixtures";

const enc = new TextEncoder();
const base = syntheticVocab(3);
/** The synthetic pieces plus runs that straddle every small length bound: letters, spaces, tabs, newlines+indent, digits. */
const extra: Uint8Array[] = [];
for (let n = 2; n <= 44; n++) {
  extra.push(enc.encode("ab".repeat(n).slice(0, n)), enc.encode(" ".repeat(n)), enc.encode("\n" + " ".repeat(n - 1)), enc.encode("9".repeat(n)));
  if (n % 3 === 0) extra.push(enc.encode("\t".repeat(n)), enc.encode("x".repeat(n) + '"'), enc.encode(`${"é".repeat(n >> 1)}`), enc.encode(`"${"y".repeat(n)}`));
}
const vocab = new TokenVocab([...base.pieces, ...extra], { eogTokens: [base.eog] });

/** Random walks (biased to short tokens, so every remaining length is visited) checking each mask against trying every token. */
function checkWalks(grammar: Grammar, walks: number, steps: number, seed: number): void {
  const rand = seededRandom(seed);
  for (let walk = 0; walk < walks; walk++) {
    const m = new GrammarMatcher(grammar, vocab);
    for (let step = 0; step < steps && !m.hasEnded; step++) {
      const mask = m.allowedTokens();
      for (let id = 0; id < vocab.size; id++) {
        const ok = acceptedClone(m, id) !== null;
        if (ok !== maskHas(mask, id)) expect.fail(`token ${id} ${JSON.stringify(new TextDecoder().decode(vocab.tokens[id]!))} after ${JSON.stringify(new TextDecoder().decode(m.acceptedBytes()))}: brute force ${ok}`);
      }
      const ids = maskIds(mask);
      expect(ids.length).toBeGreaterThan(0);
      const short = ids.filter((id) => (vocab.tokens[id]?.length ?? 0) === 1);
      const pool = short.length > 0 && rand() < 0.6 ? short : ids;
      m.accept(pool[Math.floor(rand() * pool.length)]!);
    }
  }
}

describe("mask fast paths equal brute force", () => {
  const cases: [string, () => Grammar][] = [
    ["strings with maxLength 0..7 and 30", () => compileJsonSchema({ type: "array", items: { anyOf: [{ type: "string", maxLength: 3 }, { type: "string", minLength: 2, maxLength: 7 }] }, maxItems: 3 })],
    ["a string with maxLength 30 (long text tokens cut at the bound)", () => compileJsonSchema({ type: "object", properties: { s: { type: "string", maxLength: 30 }, t: { type: "string", maxLength: 0 } }, required: ["s", "t"] })],
    ["unbounded strings and whitespace runs (pretty-printed objects)", () => compileJsonSchema({ type: "object", properties: { a: { type: "string" }, b: { type: "array", items: { type: "string" } } }, required: ["a", "b"] })],
    ["numbers and integers with bounds", () => compileJsonSchema({ type: "array", items: { anyOf: [{ type: "number" }, { type: "integer", minimum: -50, maximum: 1234 }] }, maxItems: 4 })],
    ["patterns and formats", () => compileJsonSchema({ type: "array", items: { anyOf: [{ type: "string", pattern: "^[a-z ]{2,9}$" }, { type: "string", format: "date" }, { type: "string", pattern: "^.{0,3}$" }] }, maxItems: 3 })],
    ["GBNF free text with a bounded run and a mixed class", () => compileGbnf(`root ::= [ -~]{0,12} "|" [a-z9 ]* "!" [^"]{0,5} "."`)],
  ];
  for (const [name, make] of cases) it(name, () => checkWalks(make(), 3, 40, name.length));
});

describe("textAbsorb", () => {
  it("counts what a bounded string has left, forever for char*, 0 where a text byte dies", () => {
    const g = compileJsonSchema({ type: "object", properties: { s: { type: "string", maxLength: 9 }, u: { type: "string" } }, required: ["s", "u"] });
    const m = new GrammarMatcher(g, vocab);
    m.acceptBytes(enc.encode('{"s":"'));
    expect(textAbsorb(g.engine, stateOf(m))).toBe(9);
    m.acceptBytes(enc.encode("abcd"));
    expect(textAbsorb(g.engine, stateOf(m))).toBe(5);
    m.acceptBytes(enc.encode('é"'));
    expect(textAbsorb(g.engine, stateOf(m))).toBe(0); // after the string: `,` only, and a space
    m.acceptBytes(enc.encode(',"u":"'));
    expect(textAbsorb(g.engine, stateOf(m))).toBe(ABSORB_CAP);
  });
});
