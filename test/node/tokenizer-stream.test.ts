// StreamDecoder and the UTF-8 decoder: no partial characters mid-stream, streamed text == whole-sequence decode.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { Utf8Decoder, createTokenizer, decodeUtf8, type Tokenizer } from "../../src/tokenizer/index";
import { LLAMA2_RANDOM, optionalFixtures, readFixture } from "../helpers/fixtures";

const tokenizers = new Map<string, Tokenizer>();
const load = (file: string): Tokenizer => {
  let t = tokenizers.get(file);
  if (!t) tokenizers.set(file, (t = createTokenizer(readGguf(readFixture(file)))));
  return t;
};
// stories260K ships; the 32000-piece Llama-2 vocabulary is a larger fixture, used where present.
const MODELS = [...(optionalFixtures([LLAMA2_RANDOM]).available ? [LLAMA2_RANDOM] : []), "stories260K.gguf"];

/** Pushes ids one by one; returns every push's output and the flush. */
function stream(tok: Tokenizer, ids: readonly number[]): { chunks: string[]; tail: string; text: string } {
  const d = tok.createStreamDecoder();
  const chunks = ids.map((id) => d.push(id));
  const tail = d.flush();
  return { chunks, tail, text: chunks.join("") + tail };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe.each(MODELS)("StreamDecoder (%s)", (file) => {
  it("holds multi-byte characters split over byte tokens until they are complete", () => {
    const tok = load(file);
    for (const text of ["😀", "👨‍👩‍👧‍👦 family", "中文 and 𠀀", "🇺🇸🇯🇵", "naïve 日本 😀 test", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]) {
      const ids = tok.encode(text, { addBos: false });
      const { chunks, tail, text: streamed } = stream(tok, ids);
      for (const c of chunks) {
        expect(c).not.toContain("\uFFFD");
        expect(LONE_SURROGATE.test(c), JSON.stringify(c)).toBe(false);
      }
      expect(tail).toBe("");
      // Generated-text rule: the first piece keeps its space; decode() would strip it (no BOS in front).
      expect(streamed).toBe(" " + text);
      expect(streamed).toBe(tok.decode(ids, { stripLeadingSpace: false }));
      expect(streamed).toBe(tok.decode([tok.bosId, ...ids]));
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it("an emoji from four byte tokens appears whole at the fourth", () => {
    const tok = load(file);
    const ids = tok.encode("😀", { addBos: false }).slice(1); // drop the "▁" prefix piece
    expect(ids.length).toBe(4);
    const d = tok.createStreamDecoder();
    expect(ids.map((id) => d.push(id))).toEqual(["", "", "", "😀"]);
    expect(d.pending).toBe(false);
  });

  it("the leading-space case: a generated first token ▁x streams as ' x'", () => {
    const tok = load(file);
    const ids = tok.encode("x", { addBos: false }); // ["▁x"] or ["▁", "x"]
    expect(stream(tok, ids).text).toBe(" x");
    expect(tok.decode(ids)).toBe("x");
    const strip = tok.createStreamDecoder({ stripLeadingSpace: true });
    expect(ids.map((id) => strip.push(id)).join("") + strip.flush()).toBe(tok.decode(ids));
  });

  it("a truly broken tail becomes U+FFFD at flush, as in whole decode", () => {
    const tok = load(file);
    const emoji = tok.encode("😀", { addBos: false }).slice(1);
    const ids = emoji.slice(0, 2);
    const d = tok.createStreamDecoder();
    expect(ids.map((id) => d.push(id)).join("")).toBe("");
    expect(d.pending).toBe(true);
    expect(d.flush()).toBe("\uFFFD");
    expect(tok.decode(ids)).toBe("\uFFFD");
    // A broken sequence followed by more text: U+FFFD where whole decode puts it, then the text.
    const more = [...ids, ...tok.encode("ok", { addBos: false })];
    expect(stream(tok, more).text).toBe(tok.decode(more, { stripLeadingSpace: false }));
    expect(stream(tok, more).text).toBe("\uFFFD ok");
  });

  it("control tokens produce nothing by default and their text with special", () => {
    const tok = load(file);
    const ids = [...tok.encode("Hi", { addBos: false }), tok.eosId];
    expect(stream(tok, ids).text).toBe(" Hi");
    const d = tok.createStreamDecoder({ special: true });
    expect(ids.map((id) => d.push(id)).join("") + d.flush()).toBe(" Hi</s>");
  });

  it("property: encode then stream-decode gives ' ' + text; decode gives text; chunks never hold partial characters", () => {
    const tok = load(file);
    const tricky = fc.constantFrom("😀", "👍🏽", "中", "𠀀", " ", "  ", "\n", "\t", "é", "e\u0301", "<s>", "▁", "\u0000", "\ufeff", "1,000");
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.string({ unit: "grapheme", maxLength: 30 }),
      fc.array(fc.oneof(tricky, fc.string({ maxLength: 4 })), { maxLength: 12 }).map((a) => a.join("")),
    );
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s, { addBos: false });
        const { chunks, text: streamed } = stream(tok, ids);
        // A literal U+2581 in the text is SentencePiece's space symbol and decodes as a space (as in llama.cpp).
        const plain = s.replaceAll("\u2581", " ");
        expect(streamed).toBe(s === "" ? "" : " " + plain);
        expect(tok.decode(ids)).toBe(plain);
        for (const c of chunks) expect(LONE_SURROGATE.test(c)).toBe(false);
        if (!s.includes("\uFFFD")) for (const c of chunks) expect(c).not.toContain("\uFFFD");
      }),
      { numRuns: 300 },
    );
  });

  it("property: for any id sequence, streamed text == decode(ids, {stripLeadingSpace:false})", () => {
    const tok = load(file);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 40 }), (ids) => {
        expect(stream(tok, ids).text).toBe(tok.decode(ids, { stripLeadingSpace: false }));
        expect(stream(tok, ids).text).toBe(tok.decode([tok.bosId, ...ids]));
      }),
      { numRuns: 300 },
    );
  });
});

describe("Utf8Decoder", () => {
  const reference = (bytes: Uint8Array) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  // Bytes biased towards UTF-8 structure: ASCII, lead bytes, continuations, and the boundary values.
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90),
  );

  it("property: matches TextDecoder (WHATWG replacement) on arbitrary bytes, whole and in any chunking", () => {
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 40 })), (arr, cuts) => {
        const bytes = Uint8Array.from(arr);
        const want = reference(bytes);
        expect(decodeUtf8(bytes)).toBe(want);
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        const d = new Utf8Decoder();
        let out = "";
        let from = 0;
        for (const p of points) {
          out += d.decode(bytes.subarray(from, p), true);
          from = p;
        }
        out += d.decode(bytes.subarray(from), false);
        expect(out).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps a BOM and decodes the edges of each length", () => {
    expect(decodeUtf8([0xef, 0xbb, 0xbf, 0x41])).toBe("\ufeffA");
    expect(decodeUtf8([0xf0, 0x9f, 0x98, 0x80])).toBe("😀");
    expect(decodeUtf8([0xf4, 0x8f, 0xbf, 0xbf])).toBe("\u{10FFFF}");
    expect(decodeUtf8([0xed, 0xa0, 0x80])).toBe("\uFFFD\uFFFD\uFFFD");
    expect(decodeUtf8([0xe2, 0x82])).toBe("\uFFFD");
  });
});
