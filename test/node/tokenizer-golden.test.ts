// Tokenizer vs llama.cpp: golden tables (scripts/tokenizer-golden.ts) and the prompt ids of reference-outputs.json.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index";
import { LLAMA2_RANDOM, optionalFixtures, readFixture, readFixtureText } from "../helpers/fixtures";

interface GoldenCase {
  text: string;
  ids: number[];
  detokenized: string;
  detokenizedSpecial: string;
  detokenizedAfterBos: string;
}
interface Golden {
  llamaCpp: string;
  model: string;
  bos: number;
  eos: number;
  cases: GoldenCase[];
  parseSpecial: { text: string; ids: number[] }[];
  detokenize: { ids: number[]; text: string; textSpecial: string }[];
}

interface ReferenceModel {
  file: string;
  runs: { prompt: string; promptTokens: number[]; generatedTokens: number[]; generatedText: string }[];
  timingPromptTokens: number[];
}
const referenceOutputs = (): ReferenceModel[] =>
  (JSON.parse(readFixtureText("reference-outputs.json")) as { models: ReferenceModel[] }).models;

const golden = (name: string): Golden => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as Golden;
const tokenizers = new Map<string, Tokenizer>();
const load = (file: string): Tokenizer => {
  let t = tokenizers.get(file);
  if (!t) tokenizers.set(file, (t = createTokenizer(readGguf(readFixture(file)))));
  return t;
};

for (const fixture of ["tokenizer-golden-llama2.json", "tokenizer-golden-stories260k.json"]) {
  const g = golden(fixture);
  // The Llama-2 vocabulary file is a larger fixture (not shipped); stories260K's ships.
  const present = g.model === LLAMA2_RANDOM ? optionalFixtures([LLAMA2_RANDOM]).available : true;
  describe.skipIf(!present)(`golden ${g.model} (${g.llamaCpp})`, () => {
    it("has a real table", () => {
      expect(g.cases.length).toBeGreaterThanOrEqual(150);
      expect(g.llamaCpp).toMatch(/llama\.cpp/);
      const tok = load(g.model);
      expect([tok.bosId, tok.eosId]).toEqual([g.bos, g.eos]);
    });

    it.each(g.cases.map((c, i) => [i, JSON.stringify(c.text).slice(0, 40), c] as const))("#%i %s", (_i, _label, c) => {
      const tok = load(g.model);
      expect(tok.encode(c.text, { addBos: false })).toEqual(c.ids);
      expect(tok.encode(c.text)).toEqual([g.bos, ...c.ids]);
      expect(tok.decode(c.ids)).toBe(c.detokenized);
      expect(tok.decode(c.ids, { skipSpecial: false })).toBe(c.detokenizedSpecial);
      expect(tok.decode([g.bos, ...c.ids])).toBe(c.detokenizedAfterBos);
    });

    it("parse_special splits control-token text (and space-prefixes the text after it)", () => {
      const tok = load(g.model);
      for (const c of g.parseSpecial) expect(tok.encode(c.text, { addBos: false, parseSpecial: true }), c.text).toEqual(c.ids);
    });

    it("detokenizes control, unknown and broken byte sequences like llama_detokenize", () => {
      const tok = load(g.model);
      for (const c of g.detokenize) {
        expect(tok.decode(c.ids), JSON.stringify(c.ids)).toBe(c.text);
        expect(tok.decode(c.ids, { skipSpecial: false }), JSON.stringify(c.ids)).toBe(c.textSpecial);
      }
    });
  });
}

describe("reference-outputs.json prompts", () => {
  // Its llama-2-tiny-random entry needs that larger fixture; the stories260K files ship.
  const present = (file: string) => file !== LLAMA2_RANDOM || optionalFixtures([LLAMA2_RANDOM]).available;
  for (const model of referenceOutputs().filter((m) => present(m.file))) {
    it(`${model.file}: prompt ids`, () => {
      const tok = load(model.file);
      for (const run of model.runs) expect(tok.encode(run.prompt)).toEqual(run.promptTokens);
    });

    it(`${model.file}: the ${model.timingPromptTokens.length}-token timing prompt decodes and re-encodes to the same ids`, () => {
      const tok = load(model.file);
      const ids = model.timingPromptTokens;
      expect(ids[0]).toBe(tok.bosId);
      // Without the BOS the first piece's prefix space is stripped (llama_detokenize); with it, it is kept.
      const text = tok.decode(ids.slice(1));
      expect(text.startsWith("Once upon a time")).toBe(true);
      expect(tok.decode(ids)).toBe(" " + text);
      expect(tok.encode(text)).toEqual(ids);
    });

    it(`${model.file}: generated text is the pieces as is`, () => {
      const tok = load(model.file);
      for (const run of model.runs) {
        const d = tok.createStreamDecoder();
        const streamed = run.generatedTokens.map((id) => d.push(id)).join("") + d.flush();
        expect(streamed).toBe(run.generatedText);
        expect(tok.decode(run.generatedTokens, { stripLeadingSpace: false })).toBe(run.generatedText);
      }
    });
  }
});

describe.skipIf(!optionalFixtures([LLAMA2_RANDOM]).available)("performance", () => {
  it("encodes ~10 KB and ~100 KB of mixed text with the 32000-piece vocabulary (not quadratic)", () => {
    const tok = load("llama-2-tiny-random.gguf");
    const unit = "Once upon a time, there was a little girl named Lily. Ünïcödé 😀 中文 12345\n";
    const small = unit.repeat(Math.ceil(10_240 / unit.length));
    const big = small.repeat(10);
    const t0 = performance.now();
    const ids = tok.encode(small, { addBos: false });
    const t1 = performance.now();
    const bigIds = tok.encode(big, { addBos: false });
    const t2 = performance.now();
    expect(tok.decode(ids)).toBe(small);
    expect(tok.decode(bigIds)).toBe(big);
    // Informational only: timings on shared machines vary too much for an assertion.
    console.log(`encode: ${small.length} chars -> ${ids.length} ids in ${(t1 - t0).toFixed(1)} ms; ${big.length} chars in ${(t2 - t1).toFixed(1)} ms`);
  });
});
