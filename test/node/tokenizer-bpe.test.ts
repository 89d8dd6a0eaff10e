// Byte-level BPE ("gpt2") tokenizer vs llama.cpp: the vocab/ test vectors, the golden strings of
// scripts/tokenizer-golden-bpe.ts (with two SentencePiece vocabularies as a control of the shared special-token
// handling), end-of-generation sets, token attributes and pre-tokenizer errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ModelError } from "../../src/engine/errors";
import { GgufValueType, readGguf, type GgufFile } from "../../src/gguf/index";
import { createTokenizer, TokenizerError, type BpeVocab, type Tokenizer } from "../../src/tokenizer/index";
import { spmSpecials } from "../../src/tokenizer/special-tokens";
import { idsHash } from "../../scripts/lib/ids-hash";
import { optionalFixtures, readFixture, readFixtureText } from "../helpers/fixtures";

const UPSTREAM = ["gpt-2", "starcoder", "deepseek-llm", "deepseek-coder", "qwen2", "llama-spm", "phi-3"].map((v) => `ggml-vocab-${v}.gguf`);
const RELABELLED = ["llama-bpe", "qwen2", "smollm", "deepseek-v3", "tekken"].map((p) => `gpt-2-pre-${p}.gguf`);
const VOCABS = [...UPSTREAM, "smollm2.gguf", ...RELABELLED];
const vocabFiles = optionalFixtures(VOCABS.flatMap((f) => [`vocab/${f}`, `vocab/${f}.inp`, `vocab/${f}.out`]));

const files = new Map<string, GgufFile>();
const tokenizers = new Map<string, Tokenizer>();
const gguf = (file: string): GgufFile => {
  let g = files.get(file);
  if (!g) files.set(file, (g = readGguf(readFixture(`vocab/${file}`))));
  return g;
};
const load = (file: string): Tokenizer => {
  let t = tokenizers.get(file);
  if (!t) tokenizers.set(file, (t = createTokenizer(gguf(file))));
  return t;
};

/** llama.cpp's test-tokenizer-0 vectors: inputs cut at each separator, one " id id" line per input. */
function vectors(file: string): { text: string; ids: number[] }[] {
  const inputs = readFixtureText(`vocab/${file}.inp`).split("\n__ggml_vocab_test__\n");
  inputs.pop();
  const lines = readFixtureText(`vocab/${file}.out`).split("\n");
  return inputs.map((text, i) => ({ text, ids: lines[i]!.trim() === "" ? [] : lines[i]!.trim().split(" ").map(Number) }));
}

describe.skipIf(!vocabFiles.available)("llama.cpp test vectors (vocab/*.inp, *.out)", () => {
  for (const file of VOCABS) {
    it(`${file}: every vector`, () => {
      const tok = load(file);
      const cases = vectors(file);
      expect(cases.length).toBeGreaterThanOrEqual(file.startsWith("gpt-2-pre-") ? 52 : 46);
      const wrong = cases.filter((c) => JSON.stringify(tok.encode(c.text, { addSpecial: false })) !== JSON.stringify(c.ids));
      expect(wrong.map((c) => c.text)).toEqual([]);
      // Every one detokenizes back to its text (pieces joined, no clean-up).
      for (const c of cases) expect(tok.decode(c.ids)).toBe(c.text);
    });
  }
});

interface GoldenVocab {
  file: string;
  bos: number;
  eos: number;
  addBos: boolean;
  addEos: boolean;
  eog: number[];
  attrs: [number, number][];
  cases: { text: string; ids: number[]; idsSpecial?: number[]; detok?: string; detokSpecial?: string }[];
}
const golden = JSON.parse(readFileSync(new URL("../fixtures/tokenizer-golden-bpe.json", import.meta.url), "utf8")) as {
  llamaCpp: string;
  vocabs: GoldenVocab[];
  relabelled: Record<string, string[]>;
};

/** The GPT-2 vocabulary with another tokenizer.ggml.pre (or none). */
const relabel = (pre: string | undefined): GgufFile => {
  const base = gguf("ggml-vocab-gpt-2.gguf");
  const metadata = new Map(base.metadata);
  if (pre === undefined) metadata.delete("tokenizer.ggml.pre");
  else metadata.set("tokenizer.ggml.pre", { type: GgufValueType.STRING, value: pre });
  return { ...base, metadata };
};

describe.skipIf(!vocabFiles.available)(`golden strings (${golden.llamaCpp})`, () => {
  for (const g of golden.vocabs) {
    describe(g.file, () => {
      it.each(g.cases.map((c, i) => [i, JSON.stringify(c.text).slice(0, 40), c] as const))("#%i %s", (_i, _label, c) => {
        const tok = load(g.file);
        expect(tok.encode(c.text, { addSpecial: false })).toEqual(c.ids);
        expect(tok.encode(c.text, { addSpecial: false, parseSpecial: true })).toEqual(c.idsSpecial ?? c.ids);
        // llama_detokenize applies the vocabulary's clean_spaces.
        expect(tok.decode(c.ids, { cleanSpaces: true })).toBe(c.detok ?? c.text);
        expect(tok.decode(c.idsSpecial ?? c.ids, { cleanSpaces: true, skipSpecial: false })).toBe(c.detokSpecial ?? c.text);
      });

      it("special ids, add_bos / add_eos, end-of-generation set, token attributes", () => {
        const tok = load(g.file);
        const vocab = tok.vocab;
        expect([tok.bosId, tok.eosId, vocab.addBos, vocab.addEos]).toEqual([g.bos, g.eos, g.addBos, g.addEos]);
        expect([...tok.eogIds].sort((a, b) => a - b)).toEqual(g.eog);
        const attrs: [number, number][] = [];
        (tok.model === "gpt2" ? (vocab as BpeVocab).attrs : spmSpecials(vocab).attrs).forEach((a, id) => a !== 4 && attrs.push([id, a]));
        expect(attrs).toEqual(g.attrs);
        const bos = g.addBos ? [g.bos] : [];
        const eos = g.addEos ? [g.eos] : [];
        expect(tok.encode("Hello world")).toEqual([...bos, ...tok.encode("Hello world", { addSpecial: false }), ...eos]);
      });
    });
  }
});

describe.skipIf(!vocabFiles.available)("more pre-tokenizers: the GPT-2 vocabulary relabelled, vs llama.cpp (hashes of ids)", () => {
  const texts = golden.vocabs[0]!.cases.map((c) => c.text);
  it.each(Object.keys(golden.relabelled))("%s", (pre) => {
    const tok = createTokenizer(relabel(pre));
    const hashes = texts.map((t) => idsHash(tok.encode(t, { addSpecial: false })));
    const wrong = texts.filter((_, i) => hashes[i] !== golden.relabelled[pre]![i]);
    expect(wrong).toEqual([]);
  });
});

describe.skipIf(!vocabFiles.available)("tokenizer.ggml.pre", () => {
  it("an unknown name is a ModelError that names it", () => {
    expect(() => createTokenizer(relabel("my-new-bpe"))).toThrow(ModelError);
    expect(() => createTokenizer(relabel("my-new-bpe"))).toThrow(/unknown pre-tokenizer type "my-new-bpe"/);
  });

  it("a name llama.cpp knows but this tokenizer cannot run is a ModelError too", () => {
    expect(() => createTokenizer(relabel("kimi-k2"))).toThrow(/pre-tokenizer "kimi-k2" .* not supported yet/);
  });

  it("no pre key means llama.cpp's default; aliases share a type; chatglm has no default BOS", () => {
    expect((load("ggml-vocab-gpt-2.gguf").vocab as BpeVocab).preType).toBe("GPT2");
    const none = createTokenizer(relabel(undefined));
    expect((none.vocab as BpeVocab).preType).toBe("DEFAULT");
    // DEFAULT splits punctuation runs first, then digit runs, then threes of ASCII digits.
    expect(none.encode("a12345b!!", { addSpecial: false }).map((id) => none.tokenText(id))).toEqual(["a", "123", "45", "b", "!!"]);
    const llama3 = createTokenizer(relabel("llama3"));
    expect([(llama3.vocab as BpeVocab).preType, llama3.vocab.addBos]).toEqual(["LLAMA3", true]);
    expect(llama3.encode("Hi")[0]).toBe(50256);
  });

  it("needs merges and typed tokens", () => {
    const base = gguf("ggml-vocab-gpt-2.gguf");
    const metadata = new Map(base.metadata);
    metadata.delete("tokenizer.ggml.merges");
    expect(() => createTokenizer({ ...base, metadata })).toThrow(TokenizerError);
  });
});
