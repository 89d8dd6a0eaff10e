// Token masks: exactly the tokens that keep the grammar alive (checked against brute force), and their cost per decode step
// on real 49k/50k/152k vocabularies.
import { describe, expect, it } from "vitest";
import { metaArray, metaNumber, metaOptArray, metaString, readGguf } from "../../src/gguf/index";
import { GrammarMatcher, TokenVocab, compileGbnf, compileJsonSchema, maskHas, maskIds, vocabBytes, type Grammar } from "../../src/grammar/index";
import { optionalFixtures, readFixture } from "../helpers/fixtures";
import { seededRandom } from "../helpers/random";
import { acceptedClone, shortestCompletion, stateOf, syntheticVocab } from "./grammar-fixtures";

const V = syntheticVocab(11);

/** A nested schema of the kind structured output uses. */
const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 40 },
    age: { type: "integer", minimum: 0, maximum: 150 },
    email: { type: "string" },
    role: { enum: ["admin", "editor", "viewer"] },
    active: { type: "boolean" },
    address: {
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: "string", pattern: "^\\d{5}$" } },
      required: ["street", "city", "zip"],
    },
    tags: { type: "array", items: { type: "string", maxLength: 20 }, maxItems: 8 },
    scores: { type: "array", items: { type: "number", minimum: 0, maximum: 100 } },
    joined: { type: "string", format: "date" },
  },
  required: ["name", "age", "role", "active", "address", "tags"],
};

describe("allowed-token masks", () => {
  const grammars: [string, Grammar][] = [
    ["person schema", compileJsonSchema(PERSON)],
    ["json_object", compileJsonSchema({ type: "json_object" })],
    ["gbnf", compileGbnf(`root ::= (word " ")+ "." \nword ::= [a-zé日本]+ | "\\"" [^"]* "\\""`)],
  ];
  for (const [name, grammar] of grammars) {
    it(`${name}: the mask equals brute force at every step of random walks, and allowed tokens never strand the matcher`, () => {
      const rand = seededRandom(5);
      for (let walk = 0; walk < 2; walk++) {
        const m = new GrammarMatcher(grammar, V.vocab);
        for (let step = 0; step < 20 && !m.hasEnded; step++) {
          const mask = m.allowedTokens();
          for (let id = 0; id < V.vocab.size; id++) {
            const c = acceptedClone(m, id);
            expect(c !== null, `token ${id} at step ${step}`).toBe(maskHas(mask, id));
            // Alive means completable: a shortest completion exists from the new state.
            if (c && !c.hasEnded && id % 7 === 0) expect(() => shortestCompletion(grammar.engine, stateOf(c))).not.toThrow();
          }
          const ids = maskIds(mask);
          expect(ids.length).toBeGreaterThan(0);
          m.accept(ids[Math.floor(rand() * ids.length)]!);
        }
      }
    });
  }

  it("never allows control tokens; allows EOG only when complete", () => {
    const m = new GrammarMatcher(compileGbnf(`root ::= "a" "b"?`), V.vocab);
    expect(maskHas(m.allowedTokens(), V.control) || maskHas(m.allowedTokens(), V.eog)).toBe(false);
    m.accept(97);
    expect(maskHas(m.allowedTokens(), V.eog)).toBe(true);
    expect(maskHas(m.allowedTokens(), V.control)).toBe(false);
  });
});

/** A random instance of PERSON, as JSON text with occasional pretty-printing. */
function randomPerson(rand: () => number): string {
  const words = ["alpha", "Berlin", "Zoë", "data", "東京", "x", "long-name", "quote\"d", "tab\tbed", "café", "42"];
  const w = () => words[Math.floor(rand() * words.length)]!;
  const value = {
    name: `${w()} ${w()}`.slice(0, 40),
    age: Math.floor(rand() * 151),
    email: `${w()}@example.com`,
    role: ["admin", "editor", "viewer"][Math.floor(rand() * 3)],
    active: rand() < 0.5,
    address: { street: `${Math.floor(rand() * 999)} ${w()} Street`, city: w(), zip: String(10000 + Math.floor(rand() * 89999)) },
    tags: Array.from({ length: Math.floor(rand() * 6) }, () => w().slice(0, 20)),
    scores: Array.from({ length: Math.floor(rand() * 4) }, () => Math.round(rand() * 10000) / 100),
    joined: `20${10 + Math.floor(rand() * 15)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`,
  };
  return JSON.stringify(value, null, rand() < 0.5 ? 2 : undefined);
}

/** Greedy longest-match tokenization through the grammar matcher (a stand-in for BPE: realistic piece lengths). */
function tokenize(vocab: TokenVocab, bytes: Uint8Array): number[] {
  const ids: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    let node = 0;
    let best = -1;
    let bestLen = 0;
    for (let j = i; j < bytes.length; j++) {
      let next = -1;
      for (let e = vocab.childStart[node]!; e < vocab.childStart[node + 1]!; e++) if (vocab.childByte[e] === bytes[j]) next = vocab.childNode[e]!;
      if (next < 0) break;
      node = next;
      if (vocab.tokStart[node]! < vocab.tokStart[node + 1]!) (best = vocab.tokIds[vocab.tokStart[node]!]!), (bestLen = j - i + 1);
    }
    if (best < 0) throw new Error(`no token for byte ${bytes[i]}`);
    ids.push(best);
    i += bestLen;
  }
  return ids;
}

const VOCABS = ["vocab/smollm2.gguf", "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-qwen2.gguf"];
const fixtures = optionalFixtures(VOCABS);

describe.skipIf(!fixtures.available)("mask cost per decode step on real vocabularies", () => {
  for (const file of VOCABS) {
    it(`${file}: median and p99 µs per token over simulated generations of a nested schema`, () => {
      const gguf = readGguf(readFixture(file));
      const tokens = metaArray(gguf, "tokenizer.ggml.tokens").items as string[];
      const types = metaOptArray(gguf, "tokenizer.ggml.token_type")?.items as number[] | undefined;
      const bytes = vocabBytes(metaString(gguf, "tokenizer.ggml.model"), tokens, types);
      expect(bytes.filter((b) => b.length === 0).length).toBeLessThan(500); // only control-like tokens lack bytes
      const eos = metaNumber(gguf, "tokenizer.ggml.eos_token_id");
      const vocab = new TokenVocab(bytes, { eogTokens: [eos] });
      const rand = seededRandom(99);
      const run = (grammar: Grammar): number[] => {
        const times: number[] = [];
        const text = new TextEncoder().encode(randomPerson(rand));
        const m = new GrammarMatcher(grammar, vocab);
        for (const id of tokenize(vocab, text)) {
          const t0 = performance.now();
          const mask = m.allowedTokens();
          times.push((performance.now() - t0) * 1000);
          expect(maskHas(mask, id)).toBe(true);
          m.accept(id);
        }
        expect(m.isComplete() && maskHas(m.allowedTokens(), eos)).toBe(true);
        return times;
      };
      const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
      // Cold: a fresh grammar per request (empty DFA and mask caches); warm: one grammar serving many requests.
      const cold: number[] = [];
      for (let i = 0; i < 5; i++) cold.push(...run(compileJsonSchema(PERSON)));
      const shared = compileJsonSchema(PERSON);
      for (let i = 0; i < 5; i++) run(shared);
      const warm: number[] = [];
      for (let i = 0; i < 10; i++) warm.push(...run(shared));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // The overhead is against an assumed ~8 ms per decode step (SmolLM2-135M in wasm), not a measured one.
      const line = (xs: number[]) => `median ${pct(xs, 0.5).toFixed(0)} µs, mean ${mean(xs).toFixed(0)} µs (${((mean(xs) / 8000) * 100).toFixed(1)}% of an assumed 8 ms step), p99 ${pct(xs, 0.99).toFixed(0)} µs`;
      console.log(`[grammar mask] ${file} (${vocab.size} tokens): cold ${line(cold)} over ${cold.length} steps; warm ${line(warm)} over ${warm.length} steps`);
      // Generous bounds only (a shared, loaded machine): the budget is 10% of an ~8 ms step for the median step of a
      // first request, and a shared grammar must stay well below a decode step on average.
      expect(pct(cold, 0.5)).toBeLessThan(800);
      expect(mean(warm)).toBeLessThan(4000);
    });
  }
});
