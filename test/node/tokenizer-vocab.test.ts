// Vocabulary building and validation (GGUF and plain objects), SPM merge rules on small vocabularies, token bytes, EOG.
import { describe, expect, it } from "vitest";
import { readGguf, type GgufFile } from "../../src/gguf/index";
import { GgufValueType, type GgufValue } from "../../src/gguf/types";
import { NO_TOKEN, Tokenizer, TokenizerError, TokenType, createTokenizer, makeVocab, vocabFromGguf, type VocabInit } from "../../src/tokenizer/index";
import { LLAMA2_RANDOM, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";

const stories = readGguf(readModelFile("stories260K.gguf"));

/** A copy of a GGUF file with edited metadata (the tokenizer reads nothing else). */
function withMeta(file: GgufFile, edit: (m: Map<string, GgufValue>) => void): GgufFile {
  const m = new Map(file.metadata);
  edit(m);
  return { ...file, metadata: m } as unknown as GgufFile;
}
const str = (value: string): GgufValue => ({ type: GgufValueType.STRING, value });
const u32 = (value: number): GgufValue => ({ type: GgufValueType.UINT32, value });
const arr = (elementType: GgufValueType, items: (string | number)[]): GgufValue => ({ type: GgufValueType.ARRAY, value: { elementType, items } });
const tokensOf = (file: GgufFile) => {
  const v = file.metadata.get("tokenizer.ggml.tokens")!;
  if (v.type !== GgufValueType.ARRAY) throw new Error("tokens");
  return v.value.items as string[];
};

describe("createTokenizer / vocabFromGguf", () => {
  it("reads the stories260K vocabulary with llama.cpp's defaults", () => {
    const tok = createTokenizer(stories);
    expect(tok.vocabSize).toBe(512);
    expect([tok.bosId, tok.eosId, tok.vocab.unkId, tok.vocab.padId]).toEqual([1, 2, 0, NO_TOKEN]); // pad is 0xFFFFFFFF = none
    expect([tok.vocab.addBos, tok.vocab.addEos, tok.vocab.addSpacePrefix]).toEqual([true, false, true]);
    expect(tok.vocab.types[0]).toBe(TokenType.UNKNOWN);
    expect(tok.vocab.types[1]).toBe(TokenType.CONTROL);
    expect(tok.vocab.types[3]).toBe(TokenType.BYTE);
    expect(tok.tokenText(3 + 0x0a)).toBe("<0x0A>");
  });

  it.skipIf(!optionalFixtures([LLAMA2_RANDOM]).available)("keeps pieces exactly, including the Llama-2 piece U+FEFF (GGUF strings must be decoded without BOM stripping)", () => {
    const llama2 = createTokenizer(readGguf(readModelFile("llama-2-tiny-random.gguf")));
    expect(llama2.vocabSize).toBe(32000);
    expect(llama2.vocab.lookup.get("\ufeff")).toBe(30143);
    expect(llama2.tokenText(259)).toBe("\u2581\u2581");
    expect(llama2.vocab.scores[259]).toBe(-1e9);
  });

  it("rejects other tokenizer models with a clear message", () => {
    const t5 = withMeta(stories, (m) => m.set("tokenizer.ggml.model", str("t5")));
    expect(() => createTokenizer(t5)).toThrow(TokenizerError);
    expect(() => createTokenizer(t5)).toThrow(/tokenizer model "t5" \(Unigram\) is not supported yet; supported: "llama" \(SentencePiece BPE\), "gpt2"/);
    // "gpt2" is supported (tokenizer-bpe.test.ts), but needs its merges.
    const gpt2 = withMeta(stories, (m) => m.set("tokenizer.ggml.model", str("gpt2")));
    expect(() => createTokenizer(gpt2)).toThrow(/needs its merges/);
    expect(() => createTokenizer(withMeta(stories, (m) => m.set("tokenizer.ggml.model", str("weird"))))).toThrow(/tokenizer model "weird" is not supported/);
    expect(() => createTokenizer(withMeta(stories, (m) => m.delete("tokenizer.ggml.model")))).toThrow(/no tokenizer\.ggml\.model/);
  });

  it("rejects missing, mistyped and mismatched arrays", () => {
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.delete("tokenizer.ggml.tokens")))).toThrow(/no tokenizer\.ggml\.tokens/);
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.delete("tokenizer.ggml.scores")))).toThrow(/no tokenizer\.ggml\.scores/);
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.scores", arr(GgufValueType.STRING, ["x"]))))).toThrow(
      /tokenizer\.ggml\.scores must be an array of FLOAT32/,
    );
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, [0, 1]))))).toThrow(
      "vocabulary has 512 tokens but 2 scores (tokenizer.ggml.scores)",
    );
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.token_type", arr(GgufValueType.INT32, [1]))))).toThrow(
      /512 tokens but 1 token types/,
    );
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.tokens", arr(GgufValueType.STRING, []))))).toThrow(/empty/);
  });

  it("rejects out-of-range special ids; treats 0xFFFFFFFF as none", () => {
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.bos_token_id", u32(512))))).toThrow(
      "BOS token id 512 is out of range (vocabulary has 512 tokens)",
    );
    expect(() => vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.eos_token_id", str("2"))))).toThrow(/must be an integer/);
    const v = vocabFromGguf(withMeta(stories, (m) => m.set("tokenizer.ggml.eot_token_id", u32(0xffffffff))));
    expect(v.eotId).toBe(NO_TOKEN);
  });

  it("honours add_bos / add_eos / add_space_prefix and an eot id", () => {
    const file = withMeta(stories, (m) => {
      m.set("tokenizer.ggml.add_bos_token", { type: GgufValueType.BOOL, value: false });
      m.set("tokenizer.ggml.add_eos_token", { type: GgufValueType.BOOL, value: true });
      m.set("tokenizer.ggml.add_space_prefix", { type: GgufValueType.BOOL, value: false });
      m.set("tokenizer.ggml.eot_token_id", u32(0));
    });
    const tok = createTokenizer(file);
    const plain = createTokenizer(stories);
    const ids = tok.encode("the");
    expect(ids[0]).not.toBe(1); // no BOS
    expect(tok.tokenText(ids[0]!).startsWith("\u2581")).toBe(false); // no space prefix
    expect(ids.at(-1)).toBe(2); // EOS
    expect(tok.encode("the", { addEos: false })).toEqual(ids.slice(0, -1));
    expect(tok.decode(ids)).toBe("the"); // nothing stripped without add_space_prefix
    expect(plain.encode("the").slice(0, 1)).toEqual([1]);
    expect(plain.tokenText(plain.encode("the")[1]!).startsWith("\u2581")).toBe(true);
    expect(tok.isEog(2) && tok.isEog(0) && !tok.isEog(1)).toBe(true);
    expect(plain.isEog(2) && !plain.isEog(0)).toBe(true);
    expect(tokensOf(stories).length).toBe(512);
  });
});

/** A small vocabulary: unk/bos/eos, pieces with scores, optional byte tokens. */
function small(pieces: [string, number][], extra: Partial<VocabInit> & { bytes?: boolean; types?: number[] } = {}): Tokenizer {
  const tokens = ["<unk>", "<s>", "</s>"];
  const scores = [0, 0, 0];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  if (extra.bytes) {
    for (let b = 0; b < 256; b++) {
      tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      scores.push(0);
      types.push(TokenType.BYTE);
    }
  }
  pieces.forEach(([p, s], i) => {
    tokens.push(p);
    scores.push(s);
    types.push(extra.types?.[i] ?? TokenType.NORMAL);
  });
  return new Tokenizer(makeVocab({ ...extra, tokens, scores, types }));
}

describe("SentencePiece BPE rules", () => {
  it("merges the highest-scoring pair first and breaks ties leftmost", () => {
    const tie = small([["▁", -5], ["a", -5], ["b", -5], ["ab", -1], ["ba", -1]]);
    const [sp, a, , ab, ba] = [3, 4, 5, 6, 7];
    expect(tie.encode("aba", { addBos: false })).toEqual([sp, ab, a]);
    const right = small([["▁", -5], ["a", -5], ["b", -5], ["ab", -2], ["ba", -1]]);
    expect(right.encode("aba", { addBos: false })).toEqual([sp, a, ba]);
  });

  it("merges repeatedly into longer pieces and only into existing pieces", () => {
    const tok = small([["▁", -9], ["h", -9], ["i", -9], ["▁h", -3], ["hi", -2], ["▁hi", -1]]);
    // "▁hi": hi (-2) beats ▁h (-3); then ▁ + hi = ▁hi exists.
    expect(tok.encode("hi", { addBos: false })).toEqual([8]);
    expect(tok.encode("hih", { addBos: false })).toEqual([8, 4]);
  });

  it("falls back to <0xXX> byte tokens, else to unk, else throws", () => {
    const withBytes = small([["▁", -1]], { bytes: true });
    expect(withBytes.encode("é", { addBos: false })).toEqual([259, 3 + 0xc3, 3 + 0xa9]);
    expect(withBytes.decode([259, 3 + 0xc3, 3 + 0xa9])).toBe("é");
    const noBytes = small([["▁", -1]]);
    expect(noBytes.encode("é", { addBos: false })).toEqual([3, 0, 0]);
    const noUnk = new Tokenizer(makeVocab({ tokens: ["<s>", "</s>", "▁"], scores: [0, 0, 0], types: [3, 3, 1], bosId: 0, eosId: 1, unkId: null }));
    expect(() => noUnk.encode("é")).toThrow(TokenizerError);
  });

  it("prefixes a space to the text and to text after a special token; spaces become ▁", () => {
    const tok = small([["▁", -1], ["x", -1], ["▁x", 0], ["<t>", 0]], { types: [1, 1, 1, TokenType.USER_DEFINED] });
    // user-defined tokens are split out even without parseSpecial, as llama.cpp does
    expect(tok.encode("x<t>x", { addBos: false })).toEqual([5, 6, 5]);
    expect(tok.encode("<s>x", { addBos: false, parseSpecial: true })).toEqual([1, 5]);
    expect(tok.encode("x  x", { addBos: false })).toEqual([5, 3, 5]);
    expect(tok.encode("", { addBos: false })).toEqual([]);
    expect(tok.encode("")).toEqual([1]);
    const noPrefix = small([["▁", -1], ["x", -1], ["▁x", 0]], { addSpacePrefix: false });
    expect(noPrefix.encode("x", { addBos: false })).toEqual([4]);
    expect(noPrefix.decode([5])).toBe(" x");
  });

  it("turns lone surrogates into U+FFFD before encoding", () => {
    const tok = small([["▁", -1]], { bytes: true });
    expect(tok.encode("\ud800", { addBos: false })).toEqual(tok.encode("\ufffd", { addBos: false }));
  });
});

describe("token bytes and decode", () => {
  const tok = small([["▁the", -1], ["▁", -1], ["\u2581\u2581", -2]], { bytes: true });
  it("maps pieces to bytes", () => {
    expect([...tok.tokenBytes(259)]).toEqual([0x20, 0x74, 0x68, 0x65]);
    expect([...tok.tokenBytes(3 + 0x0a)]).toEqual([0x0a]);
    expect([...tok.tokenBytes(1)]).toEqual([]);
    expect([...tok.tokenBytes(0)]).toEqual([]);
    expect(tok.decode([1, 259, 2], { skipSpecial: false })).toBe("<s> the</s>");
    expect(tok.decode([0, 259], { skipSpecial: false })).toBe("<unk> the");
  });
  it("strips one prefix space from the first token only", () => {
    expect(tok.decode([261, 259])).toBe("  the");
    expect(tok.decode([259, 259])).toBe("the the");
    expect(tok.decode([1, 259])).toBe(" the");
    expect(tok.decode([259], { stripLeadingSpace: false })).toBe(" the");
    expect(tok.decode([])).toBe("");
  });
  it("rejects ids outside the vocabulary", () => {
    expect(() => tok.decode([9999])).toThrow(TokenizerError);
    expect(() => tok.tokenBytes(-1)).toThrow(/out of range/);
    expect(() => tok.createStreamDecoder().push(1.5)).toThrow(TokenizerError);
  });
});

describe("makeVocab validation", () => {
  it("reports malformed vocabularies", () => {
    expect(() => makeVocab({ tokens: [], scores: [] })).toThrow(/empty/);
    expect(() => makeVocab({ tokens: ["a"], scores: [] })).toThrow(/1 tokens but 0 scores/);
    expect(() => makeVocab({ tokens: ["a"], scores: [0], types: [9] })).toThrow(/unknown token type 9/);
    expect(() => makeVocab({ tokens: ["a"], scores: [NaN] })).toThrow(/not a number/);
    expect(() => makeVocab({ tokens: ["a", "b", "c"], scores: [0, 0, 0], bosId: 7 })).toThrow(/BOS token id 7/);
  });
  it("defaults special ids like llama.cpp and disables those past the end", () => {
    const v = makeVocab({ tokens: ["a", "b"], scores: [0, 0] });
    expect([v.unkId, v.bosId, v.eosId, v.padId]).toEqual([0, 1, NO_TOKEN, NO_TOKEN]);
    expect(v.types[0]).toBe(TokenType.NORMAL);
  });
  it("auto-detects a control <|eot_id|> as end of turn", () => {
    const v = makeVocab({ tokens: ["<unk>", "<s>", "</s>", "<|eot_id|>"], scores: [0, 0, 0, 0], types: [2, 3, 3, 3] });
    expect(v.eotId).toBe(3);
    expect(new Tokenizer(v).isEog(3)).toBe(true);
  });
});
