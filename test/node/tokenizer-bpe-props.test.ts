// Byte-level BPE properties: decode(encode(s)) == s, special-token text stays text without parse_special, streaming
// decode equals whole decode, add_special, end-of-generation ids, and encode speed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer, type BpeVocab, type Tokenizer } from "../../src/tokenizer/index";
import { decodeByteLevel } from "../../src/tokenizer/bpe-decode";
import { compileRegex, preTokenize } from "../../src/tokenizer/bpe-pretokenize";
import { decodeUtf8 } from "../../src/tokenizer/utf8";
import { BYTE_TO_CHAR, Category, WHITESPACE_BIT, codePointClass } from "../../src/tokenizer/unicode";
import { optionalFixtures, readFixture } from "../helpers/fixtures";

const FILES = ["ggml-vocab-gpt-2.gguf", "ggml-vocab-qwen2.gguf", "ggml-vocab-deepseek-coder.gguf", "smollm2.gguf", "gpt-2-pre-tekken.gguf"];
const set = optionalFixtures(FILES.map((f) => `vocab/${f}`));
const tokenizers = new Map<string, Tokenizer>();
const load = (file: string): Tokenizer => {
  let t = tokenizers.get(file);
  if (!t) tokenizers.set(file, (t = createTokenizer(readGguf(readFixture(`vocab/${file}`)))));
  return t;
};

/** What a JS string becomes in UTF-8: lone surrogates turn into U+FFFD. */
const wellFormed = (s: string) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

/** True when some UTF-8 byte of s has no token (its GPT-2 byte character is not in the vocabulary). */
const hasMissingByte = (tok: Tokenizer, s: string) => [...new TextEncoder().encode(s)].some((b) => !tok.vocab.lookup.has(BYTE_TO_CHAR[b]!));

const SPECIAL_TEXTS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<reponame>", "<|fim_prefix|>", "<|EOT|>", "<｜begin▁of▁sentence｜>"];
/** Text with the pieces pre-tokenizers care about: contractions, digits, whitespace runs, marks, emoji, special texts. */
const text = fc
  .array(
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 12 }),
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.constantFrom("'s", "'LL", " ", "  ", "\n", "\r\n", "\t", "123456", "٣٤", "e\u0301", "😀", "👨‍👩‍👧", "\u0085", "\uFEFF", "\u00A0", "中文", "ÀlaCarte", ...SPECIAL_TEXTS),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(""));

describe("llama.cpp's unicode table, not the JavaScript engine's", () => {
  it("classifies by llama.cpp's Unicode version and whitespace set", () => {
    // Letters, marks and digits newer than llama.cpp's table are undefined there (JavaScript may call them letters).
    for (const cp of [0x088f, 0x0897, 0x1b4e, 0x20c1, 0x10d40, 0xa7cb]) expect(codePointClass(cp) & 7, cp.toString(16)).toBe(Category.UNDEFINED);
    expect(codePointClass(0x0041)).toBe(Category.LETTER);
    expect(codePointClass(0x0663)).toBe(Category.NUMBER);
    expect(codePointClass(0x0301)).toBe(Category.MARK);
    // \s: U+0085 is whitespace (JavaScript's \s says no), U+FEFF is not (JavaScript's says yes).
    expect(codePointClass(0x0085) & WHITESPACE_BIT).toBe(WHITESPACE_BIT);
    expect(codePointClass(0xfeff) & WHITESPACE_BIT).toBe(0);
    expect(codePointClass(0x00a0) & WHITESPACE_BIT).toBe(WHITESPACE_BIT);
    expect(codePointClass(0x110000)).toBe(Category.UNDEFINED);
  });

  it("pre-tokenizes by it: GPT-2 splits around U+088F (a letter to Unicode 17, undefined to llama.cpp)", () => {
    const gpt2 = [compileRegex(String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`)];
    const words = (s: string) => preTokenize(s, gpt2).map((w) => decodeUtf8(decodeByteLevel(w)));
    expect(words("a\u088Fb c")).toEqual(["a", "\u088F", "b", " c"]);
    // U+0085 is whitespace to llama.cpp: the run " \u0085 " before "y" splits as "\s+(?!\S)" + " y".
    expect(words("x \u0085 y")).toEqual(["x", " \u0085", " y"]);
  });
});

describe.skipIf(!set.available)("byte-level BPE properties", () => {
  it.each(FILES)("%s: decode(encode(s)) == s, special texts included, lone surrogates as U+FFFD", (file) => {
    const tok = load(file);
    fc.assert(
      fc.property(text, (s) => {
        // SmolLM2's vocabulary lacks some bytes (0x04, 0xF1...): llama.cpp drops those, so no round trip there.
        fc.pre(!hasMissingByte(tok, s));
        expect(tok.decode(tok.encode(s, { addSpecial: false }))).toBe(wellFormed(s));
      }),
      { numRuns: 150 },
    );
  });

  it.each(FILES)("%s: without parse_special a control token's text is plain text; with it, it is the token", (file) => {
    const tok = load(file);
    const vocab = tok.vocab as BpeVocab;
    const controls = vocab.candidates.filter((id) => vocab.attrs[id]! & 8).slice(0, 20);
    fc.assert(
      fc.property(text, fc.constantFrom(...controls), fc.string({ maxLength: 6 }), (s, control, tail) => {
        const literal = s + vocab.tokens.text(control) + tail;
        fc.pre(!hasMissingByte(tok, literal));
        const plain = tok.encode(literal, { addSpecial: false });
        expect(plain.some((id) => vocab.attrs[id]! & 8)).toBe(false);
        expect(tok.decode(plain)).toBe(wellFormed(literal));
        const parsed = tok.encode(literal, { addSpecial: false, parseSpecial: true });
        expect(parsed).toContain(control);
        expect(tok.decode(parsed, { skipSpecial: false })).toBe(wellFormed(literal));
      }),
      { numRuns: 60 },
    );
  });

  it("streams byte-level pieces as complete characters; the stream equals the whole decode", () => {
    const tok = load("ggml-vocab-gpt-2.gguf");
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s, { addSpecial: false });
        const d = tok.createStreamDecoder();
        const parts = ids.map((id) => d.push(id));
        parts.push(d.flush());
        expect(parts.join("")).toBe(tok.decode(ids));
        // A mid-stream part never ends inside a character: no lone surrogates.
        for (const p of parts) expect(wellFormed(p)).toBe(p);
      }),
      { numRuns: 150 },
    );
    // An emoji is four byte tokens in GPT-2: nothing comes out until the last one.
    const ids = tok.encode("😀", { addSpecial: false });
    expect(ids.length).toBeGreaterThan(1);
    const d = tok.createStreamDecoder();
    expect(ids.map((id) => d.push(id))).toEqual([...ids.slice(1).map(() => ""), "😀"]);
  });

  it("control tokens render empty unless special text is asked for; user-defined ones always render", () => {
    const gpt2 = load("ggml-vocab-gpt-2.gguf");
    expect(gpt2.decode([15496, 50256])).toBe("Hello");
    expect(gpt2.decode([15496, 50256], { skipSpecial: false })).toBe("Hello<|endoftext|>");
    expect(gpt2.tokenBytes(50256)).toEqual(new Uint8Array(0));
    const coder = load("ggml-vocab-deepseek-coder.gguf");
    const ids = coder.encode("aõb", { addSpecial: false });
    expect(ids.map((id) => coder.tokenText(id))).toEqual(["a", "õ", "b"]); // õ is a user-defined token, split out
    expect(coder.decode(ids)).toBe("aõb");
  });

  it("add_special: BOS / EOS per the vocabulary; explicit addBos / addEos win", () => {
    const coder = load("ggml-vocab-deepseek-coder.gguf"); // add_bos_token = true
    const bare = coder.encode("hi", { addSpecial: false });
    expect(coder.encode("hi")).toEqual([coder.bosId, ...bare]);
    expect(coder.encode("hi", { addSpecial: true, addEos: true })).toEqual([coder.bosId, ...bare, coder.eosId]);
    expect(coder.encode("hi", { addBos: false })).toEqual(bare);
    const tekken = load("gpt-2-pre-tekken.gguf"); // no add_bos_token key: tekken's default is true
    expect(tekken.encode("hi")[0]).toBe(tekken.bosId);
    const smol = load("smollm2.gguf"); // add_bos_token = false
    expect(smol.encode("hi")).toEqual(smol.encode("hi", { addSpecial: false }));
  });

  it("end-of-generation ids: eos plus every end marker in the vocabulary", () => {
    const smol = load("smollm2.gguf");
    const texts = [...smol.eogIds].map((id) => smol.tokenText(id)).sort();
    expect(texts).toEqual(["<reponame>", "<|endoftext|>", "<|im_end|>"]); // <reponame> as llama.cpp's FIM repo token
    expect(smol.isEog(2) && !smol.isEog(1)).toBe(true);
    const qwen = load("ggml-vocab-qwen2.gguf");
    expect([...qwen.eogIds].map((id) => qwen.tokenText(id))).toContain("<|endoftext|>");
  });

  it("encodes 10k characters of mixed text well under 100 ms", () => {
    for (const file of ["ggml-vocab-gpt-2.gguf", "ggml-vocab-qwen2.gguf"]) {
      const tok = load(file);
      const sample = (seed: number) => {
        let s = "";
        for (let i = 0; s.length < 10_000; i++) s += `Line ${seed * 1000 + i}: The quick brown fox #${i * 7919} jumps; Привет, 世界 ${i % 97} 😀 def f${i}(x): return x*${i}\n`;
        return s.slice(0, 10_000);
      };
      tok.encode(sample(0)); // warm-up: JIT and the unicode table
      const times = [1, 2, 3].map((seed) => {
        const t = performance.now();
        tok.encode(sample(seed));
        return performance.now() - t;
      });
      expect(Math.min(...times), `${file}: ${times.map((t) => t.toFixed(1)).join(", ")} ms`).toBeLessThan(100);
    }
  });
});
