// The tokenizer's retained memory stays small: piece texts packed in typed arrays (no string per token, no Map of
// the vocabulary), merges as id pairs, heapBytes() under 1.5 MB for SmolLM2-sized vocabularies; same lookups as before.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { GgufValueType, readGguf, type GgufFile } from "../../src/gguf/index";
import { Tokenizer, createTokenizer, makeVocab, type BpeVocab } from "../../src/tokenizer/index";
import { TokenTexts } from "../../src/tokenizer/token-texts";
import { synthVocab } from "../../scripts/lib/synth/vocab";
import { optionalFixtures, readFixture } from "../helpers/fixtures";

const MB = 1e6;
const SMOLLM2 = "vocab/smollm2.gguf";
const smollm2 = optionalFixtures([SMOLLM2]);

/** A full collection, through V8's gc() made reachable at run time (vitest starts workers without --expose-gc). */
const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

const strings = (file: GgufFile, key: string): string[] => {
  const v = file.metadata.get(key)!;
  if (v.type !== GgufValueType.ARRAY) throw new Error(key);
  return v.value.items as string[];
};

/** The tokenizer of kv:budget's synthetic SmolLM2-shaped model: a 49,152-piece SentencePiece vocabulary. */
const synthTokenizer = () => {
  const v = synthVocab(49152);
  return new Tokenizer(makeVocab({ tokens: v.tokens, scores: v.scores, types: v.types, bosId: 1, eosId: 2, unkId: 0 }));
};

/** Largest string array and largest Map/Set reachable from `root` through properties, arrays, Maps and Sets. */
function largestCollections(root: object): { stringArray: number; mapOrSet: number } {
  const seen = new Set<unknown>();
  const stack: unknown[] = [root];
  let stringArray = 0;
  let mapOrSet = 0;
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== "object" || seen.has(x) || ArrayBuffer.isView(x)) continue;
    seen.add(x);
    if (Array.isArray(x)) {
      if (x.some((e) => typeof e === "string")) stringArray = Math.max(stringArray, x.length);
      stack.push(...x);
    } else if (x instanceof Map || x instanceof Set) {
      mapOrSet = Math.max(mapOrSet, x.size);
      for (const e of x) stack.push(e);
    } else stack.push(...Object.values(x));
  }
  return { stringArray, mapOrSet };
}

describe("TokenTexts", () => {
  it("gives back every text and finds every id (last duplicate wins), in both the 1-byte and the 2-byte packing", () => {
    const latin = ["a", "ab", "Ġthe", "Ċ", "ab", "<|im_end|>", "x"];
    const wide = ["▁the", "日本", "😀x", "\uD800", ...Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x4e00 + i))];
    for (const texts of [latin, wide]) {
      const t = new TokenTexts(texts.length, (i) => texts[i]!);
      expect(t.length).toBe(texts.length);
      texts.forEach((s, i) => {
        expect(t.text(i)).toBe(s);
        expect(t.textLength(i)).toBe(s.length);
        expect(t.get(s)).toBe(texts.lastIndexOf(s));
      });
      expect([...t]).toEqual(texts);
      expect(t.get("not a piece")).toBeUndefined();
      expect(t.has("")).toBe(false);
    }
    const t = new TokenTexts(latin.length, (i) => latin[i]!);
    expect(t.find("xxabyy", 2, 4)).toBe(4); // "ab", duplicated: the last id
    expect(t.find("xxabyy", 2, 5)).toBe(-1);
    expect(t.findConcat(0, 0)).toBe(-1); // "aa"
    expect(t.findConcat(0, 6)).toBe(-1); // "ax"
    const u = new TokenTexts(3, (i) => ["a", "b", "ab"][i]!);
    expect(u.findConcat(0, 1)).toBe(2);
    expect(u.findConcat(1, 0)).toBe(-1);
  });

  it("holds vocabularies past 65,535 pieces (32-bit hash slots)", () => {
    const n = 70_000;
    const t = new TokenTexts(n, (i) => `p${i.toString(36)}`);
    for (let i = 0; i < n; i += 7) expect(t.get(`p${i.toString(36)}`)).toBe(i);
    expect(t.get(`p${n.toString(36)}`)).toBeUndefined();
    expect(t.byteLength).toBeLessThan(1.5 * MB);
  });
});

describe("tokenizer memory", () => {
  it("kv:budget's 49,152-piece SentencePiece vocabulary: heapBytes() under 1.5 MB, no vocabulary-sized string array or Map", () => {
    const tok = synthTokenizer();
    tok.encode("Once upon a time, there was a little dog. <0x0A> 日本", { parseSpecial: true });
    const bytes = tok.heapBytes();
    // Its typed arrays alone: scores (4 B), types (1 B), text offsets (4 B) per piece, and the texts.
    expect(bytes).toBeGreaterThan(49152 * 9);
    expect(bytes).toBeLessThan(1.5 * MB);
    const big = largestCollections(tok);
    expect(big.stringArray).toBeLessThan(1000);
    expect(big.mapOrSet).toBeLessThan(1000);
  });

  describe.skipIf(!smollm2.available)("SmolLM2's byte-level BPE vocabulary (49,152 pieces, 48,900 merges)", () => {
    const file = () => readGguf(readFixture(SMOLLM2));

    it("heapBytes() under 1.5 MB; no vocabulary-sized string array or Map; the word cache stays bounded", () => {
      const tok = createTokenizer(file());
      expect(tok.model).toBe("gpt2");
      const fresh = tok.heapBytes();
      expect(fresh).toBeGreaterThan(49152 * 8); // text offsets + hash slots + merge table starts, at least
      expect(fresh).toBeLessThan(1.5 * MB);
      // Many distinct words: the per-word cache is cleared at its cap instead of growing with the text.
      const words = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}q`).join(" ");
      expect(tok.decode(tok.encode(words))).toBe(words);
      expect(tok.heapBytes() - fresh).toBeLessThan(0.6 * MB);
      const big = largestCollections(tok);
      expect(big.stringArray).toBeLessThan(1000);
      expect(big.mapOrSet).toBeLessThan(5000);
    });

    it.skipIf(!gc)("the JS heap kept by a tokenizer built from a parsed header is small once the header is gone", () => {
      createTokenizer(file()); // first build: module-level tables (unicode data, regexes) are made once per isolate
      gc!();
      const before = process.memoryUsage().heapUsed;
      const tok = createTokenizer(file());
      gc!();
      const heap = process.memoryUsage().heapUsed - before;
      // The old string[] + Map + merge strings kept about 4.5 MB here; typed arrays live outside the JS heap proper.
      expect(heap).toBeLessThan(0.5 * MB);
      expect(tok.vocabSize).toBe(49152);
    });

    it("llama.cpp's text-keyed merge rank (the fallback path) agrees with a map of the merge texts", () => {
      const f = file();
      const merges = strings(f, "tokenizer.ggml.merges");
      const tokens = strings(f, "tokenizer.ggml.tokens");
      const ref = new Map<string, number>();
      merges.forEach((text, i) => {
        const key = text.indexOf(" ", 1) < 0 ? " " : text;
        if (!ref.has(key)) ref.set(key, i);
      });
      const table = (createTokenizer(f).vocab as BpeVocab).merges;
      for (let i = 0; i < merges.length; i += 3) {
        const at = merges[i]!.indexOf(" ", 1);
        const [l, r] = [merges[i]!.slice(0, at), merges[i]!.slice(at + 1)];
        expect(table.rankOfText(l, r)).toBe(ref.get(`${l} ${r}`));
      }
      let seed = 7;
      const pick = () => tokens[(seed = (seed * 48271) % 2147483647) % tokens.length]!;
      for (let i = 0; i < 5000; i++) {
        const [l, r] = [pick(), pick()];
        expect(table.rankOfText(l, r)).toBe(ref.get(`${l} ${r}`));
        expect(table.rankOfText(l + "zq", r)).toBe(ref.get(`${l}zq ${r}`));
      }
      expect(table.rankOfText("", "")).toBe(ref.get(" "));
    });
  });
});
