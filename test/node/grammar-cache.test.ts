// GrammarCache: one compiled Grammar per canonical source, LRU eviction by entries and bytes, errors not cached.
import { describe, expect, it } from "vitest";
import { GrammarCache, GrammarError, GrammarMatcher, canonicalJson } from "../../src/grammar/index";
import { syntheticVocab } from "./grammar-fixtures";

const V = syntheticVocab(2);

describe("GrammarCache", () => {
  it("returns the same Grammar for equal sources, a different one for different ones", () => {
    const c = new GrammarCache();
    const a = c.jsonSchema({ type: "object", properties: { x: { type: "string" } } });
    expect(c.jsonSchema({ type: "object", properties: { x: { type: "string" } } })).toBe(a);
    expect(c.jsonSchema({ type: "object", properties: { x: { type: "string" } } }, { ignoreUnknownKeywords: true })).not.toBe(a);
    // Property order is generation order: a different grammar.
    const ab = c.jsonSchema({ type: "object", properties: { a: { type: "string" }, b: { type: "string" } } });
    const ba = c.jsonSchema({ type: "object", properties: { b: { type: "string" }, a: { type: "string" } } });
    expect(ab).not.toBe(ba);
    expect(c.gbnf(`root ::= "a"`)).toBe(c.gbnf(`root ::= "a"`));
    expect(c.gbnf(`root ::= "a"`)).not.toBe(c.gbnf(`root ::= "b"`));
    expect(c.hits).toBe(3);
  });

  it("evicts the least recently used entry past maxEntries", () => {
    const c = new GrammarCache({ maxEntries: 2 });
    const a = c.gbnf(`root ::= "a"`);
    c.gbnf(`root ::= "b"`);
    c.gbnf(`root ::= "a"`); // a is now the most recent
    c.gbnf(`root ::= "c"`); // evicts b
    expect(c.size).toBe(2);
    expect(c.gbnf(`root ::= "a"`)).toBe(a);
    const misses = c.misses;
    c.gbnf(`root ::= "b"`);
    expect(c.misses).toBe(misses + 1);
  });

  it("keeps within the byte budget as grammars grow, and an evicted grammar keeps working", () => {
    const c = new GrammarCache({ maxBytes: 400_000 });
    const first = c.jsonSchema({ type: "object", properties: { s: { type: "string", maxLength: 30 } } });
    const m = new GrammarMatcher(first, V.vocab);
    for (const ch of '{"s": "hello world') {
      m.allowedTokens();
      m.acceptBytes(new TextEncoder().encode(ch));
    }
    expect(first.approxBytes).toBeGreaterThan(10_000);
    for (let i = 0; i < 40; i++) c.jsonSchema({ type: "array", items: { type: "string", maxLength: i } });
    expect(c.bytes).toBeLessThanOrEqual(400_000);
    expect(c.size).toBeLessThan(41);
    expect(m.allowedTokens().length).toBe(V.vocab.maskWords);
  });

  it("does not cache compile errors; canonical keys keep what JSON.stringify drops", () => {
    const c = new GrammarCache();
    expect(() => c.gbnf("root ::= [")).toThrow(GrammarError);
    expect(() => c.jsonSchema({ type: "string", multipleOf: 2 })).toThrow(GrammarError);
    expect(c.size).toBe(0);
    expect(canonicalJson({ a: undefined })).not.toBe(canonicalJson({}));
    expect(canonicalJson([NaN, Infinity])).not.toBe(canonicalJson([null, null]));
    expect(canonicalJson({ a: 1, b: [2, "x"] })).toBe(JSON.stringify({ a: 1, b: [2, "x"] }));
  });
});
