// GGUF reader on the real model files: layout facts from PROVENANCE.md, metadata values and types, zero-copy tensor views.
import { describe, expect, it } from "vitest";
import {
  ARCH_KEY, GgmlType, GgufError, GgufValueType, KEY, archKey, metaArray, metaNumber, metaOptArray, metaOptBool, metaOptNumber,
  metaOptString, metaString, readGguf, tensorData, type GgufFile,
} from "../../src/gguf/index";
import { KQUANT_MODELS, LLAMA2_RANDOM, listFixtures, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";
import { dv } from "./gguf-fixtures";

const read = (name: string) => readGguf(readModelFile(name));
const typeCounts = (f: GgufFile) => {
  const counts: Record<string, number> = {};
  for (const t of f.tensors) counts[GgmlType[t.type]!] = (counts[GgmlType[t.type]!] ?? 0) + 1;
  return counts;
};

describe("stories260K", () => {
  const f32 = read("stories260K.gguf");
  const q8 = read("stories260K-Q8_0.gguf");
  const q4 = read("stories260K-Q4_0.gguf");

  it("F32 file: version, alignment, data offset, tensor count", () => {
    expect([f32.version, f32.alignment, f32.dataOffset, f32.tensors.length]).toEqual([3, 32, 14176, 48]);
    expect(f32.metadata.has(KEY.alignment)).toBe(false);
    expect(f32.tensorByName.size).toBe(48);
  });

  it("shapes and byte sizes", () => {
    const t = (name: string) => f32.tensorByName.get(name)!;
    expect(t("token_embd.weight")).toMatchObject({ dims: [64, 512], type: GgmlType.F32, nElements: 32768, nBytes: 131072 });
    expect(t("output.weight").dims).toEqual([64, 512]);
    expect(t("output_norm.weight").dims).toEqual([64]);
    for (let b = 0; b < 5; b++) {
      expect(t(`blk.${b}.attn_q.weight`).dims).toEqual([64, 64]);
      expect(t(`blk.${b}.attn_k.weight`).dims).toEqual([64, 32]);
      expect(t(`blk.${b}.attn_v.weight`).dims).toEqual([64, 32]);
      expect(t(`blk.${b}.ffn_gate.weight`).dims).toEqual([64, 172]);
      expect(t(`blk.${b}.ffn_down.weight`)).toMatchObject({ dims: [172, 64], nBytes: 172 * 64 * 4 });
      expect(t(`blk.${b}.attn_norm.weight`).dims).toEqual([64]);
    }
    // The F32 file's tensors are packed in order, each padded to 32 bytes, data ending exactly at the end of the file.
    const last = f32.tensors[f32.tensors.length - 1]!;
    expect(f32.dataOffset + last.offset + Math.ceil(last.nBytes / 32) * 32).toBe(f32.bytes.byteLength);
  });

  it("metadata values and their stored types", () => {
    expect(metaString(f32, KEY.architecture)).toBe("llama");
    expect(metaString(f32, KEY.name)).toBe("llama");
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.embeddingLength))).toBe(64);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.blockCount))).toBe(5);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.feedForwardLength))).toBe(172);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.contextLength))).toBe(2048);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.headCount))).toBe(8);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.headCountKv))).toBe(4);
    expect(metaNumber(f32, archKey("llama", ARCH_KEY.ropeDimensionCount))).toBe(8);
    const eps = f32.metadata.get("llama.attention.layer_norm_rms_epsilon")!;
    expect(eps).toEqual({ type: GgufValueType.FLOAT32, value: Math.fround(1e-5) });
    expect(eps.value).toBe(0.000009999999747378752);
    expect(metaOptNumber(f32, archKey("llama", ARCH_KEY.ropeFreqBase))).toBeUndefined();
    expect(metaOptNumber(f32, KEY.fileType)).toBeUndefined();
    expect(metaOptBool(f32, KEY.addBos)).toBeUndefined();
    expect(metaString(f32, KEY.tokenizerModel)).toBe("llama");
    expect([metaNumber(f32, KEY.bosId), metaNumber(f32, KEY.eosId), metaNumber(f32, KEY.unkId), metaNumber(f32, KEY.padId)]).toEqual([1, 2, 0, 4294967295]);
  });

  it("tokenizer arrays: 512 tokens, scores and token types", () => {
    const tokens = metaArray(f32, KEY.tokens);
    expect(tokens.elementType).toBe(GgufValueType.STRING);
    expect(tokens.items).toHaveLength(512);
    expect(tokens.items.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(tokens.items[3 + 0x0a]).toBe("<0x0A>");
    expect(tokens.items[403]).toBe("▁Once");
    const scores = metaArray(f32, KEY.scores);
    expect(scores.elementType).toBe(GgufValueType.FLOAT32);
    expect(scores.items).toHaveLength(512);
    expect(scores.items.every((s) => typeof s === "number" && Number.isFinite(s))).toBe(true);
    const types = metaArray(f32, KEY.tokenType);
    expect(types.elementType).toBe(GgufValueType.INT32);
    expect(types.items.slice(0, 4)).toEqual([2, 3, 3, 6]); // unknown, control, control, byte
    expect(metaOptArray(f32, KEY.merges)).toBeUndefined();
  });

  it("quantized files: data offset 14240, reordered tensors, type counts per PROVENANCE", () => {
    expect([q8.version, q8.alignment, q8.dataOffset, q8.tensors.length]).toEqual([3, 32, 14240, 48]);
    expect([q4.version, q4.alignment, q4.dataOffset, q4.tensors.length]).toEqual([3, 32, 14240, 48]);
    expect(typeCounts(q8)).toEqual({ Q8_0: 32, F16: 5, F32: 11 });
    expect(typeCounts(q4)).toEqual({ Q4_0: 31, Q8_0: 1, F16: 5, F32: 11 });
    expect(q8.tensorByName.get("blk.0.ffn_down.weight")).toMatchObject({ dims: [172, 64], type: GgmlType.F16, nBytes: 172 * 64 * 2 });
    expect(q8.tensorByName.get("blk.0.attn_k.weight")).toMatchObject({ dims: [64, 32], type: GgmlType.Q8_0, nBytes: (64 / 32) * 34 * 32 });
    expect(q4.tensorByName.get("output.weight")!.type).toBe(GgmlType.Q8_0);
    expect(q4.tensors[0]!.name).toBe("output.weight");
    expect(metaNumber(q8, KEY.fileType)).toBe(7);
    expect(metaNumber(q4, KEY.fileType)).toBe(2);
    expect(metaNumber(q4, KEY.quantVersion)).toBe(2);
  });

  it("tensorData is a zero-copy view of the right bytes", () => {
    const t = q4.tensorByName.get("blk.1.attn_q.weight")!;
    const view = tensorData(q4, t);
    expect(view.buffer).toBe(q4.bytes.buffer);
    expect(view.byteLength).toBe((64 * 64 / 32) * 18);
    expect(view.byteOffset - q4.bytes.byteOffset).toBe(q4.dataOffset + t.offset);
    expect(tensorData(q4, "blk.1.attn_q.weight")).toEqual(view);
    // Values: token_embd row 0 of the F32 file, read through the view, match a direct read of the file.
    const emb = tensorData(f32, "token_embd.weight");
    const direct = dv(f32.bytes).getFloat32(f32.dataOffset + f32.tensorByName.get("token_embd.weight")!.offset, true);
    expect(dv(emb).getFloat32(0, true)).toBe(direct);
  });

  it("input handling: the caller's Uint8Array is kept; an ArrayBuffer or offset view works too", () => {
    const bytes = readModelFile("stories260K.gguf");
    expect(readGguf(bytes).bytes).toBe(bytes);
    const copy = bytes.slice();
    expect(readGguf(copy.buffer).dataOffset).toBe(14176);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const f = readGguf(shifted.subarray(3));
    expect(Array.from(tensorData(f, "output_norm.weight"))).toEqual(Array.from(tensorData(f32, "output_norm.weight")));
  });

  it("tensorData with an unknown name is a GgufError", () => {
    expect(() => tensorData(f32, "nope.weight")).toThrowError(GgufError);
    expect(() => tensorData(f32, "nope.weight")).toThrowError(/no tensor named "nope.weight"/);
    const foreign = { ...f32.tensorByName.get("token_embd.weight")!, offset: f32.bytes.byteLength };
    expect(() => tensorData(f32, foreign)).toThrowError(/runs past the end/);
  });

  it("metadata getters name the key on a missing key or wrong type", () => {
    expect(() => metaString(f32, "llama.nope")).toThrowError(/missing metadata key "llama.nope"/);
    expect(() => metaNumber(f32, KEY.architecture)).toThrowError(/metadata "general.architecture" must be a number, found STRING/);
    expect(() => metaString(f32, KEY.bosId)).toThrowError(/"tokenizer.ggml.bos_token_id" must be a string, found UINT32/);
    expect(() => metaArray(f32, KEY.name)).toThrowError(/must be an array/);
    expect(() => metaOptBool(f32, KEY.name)).toThrowError(/must be a bool/);
    expect(metaOptString(f32, "x.y")).toBeUndefined();
  });
});

describe.skipIf(!optionalFixtures([LLAMA2_RANDOM]).available)("llama-2-tiny-random (32000-piece vocabulary, F16)", () => {
  it("parses, with a token that is a lone BOM kept intact", () => {
    const f = read("llama-2-tiny-random.gguf");
    expect(f.version).toBe(3);
    const tokens = metaArray(f, KEY.tokens).items as string[];
    expect(tokens).toHaveLength(32000);
    expect(tokens).toContain("\uFEFF");
    expect(metaArray(f, KEY.scores).items).toHaveLength(32000);
    expect(metaString(f, KEY.name)).toBe("LLaMA v2");
    expect(metaNumber(f, KEY.fileType)).toBe(1);
    expect(metaNumber(f, "llama.embedding_length")).toBe(8);
    expect(f.tensorByName.get("token_embd.weight")).toMatchObject({ dims: [8, 32000], type: GgmlType.F16 });
    expect(f.tensorByName.get("blk.0.ffn_down.weight")).toMatchObject({ dims: [32, 8], type: GgmlType.F16 });
    expect(f.tensorByName.get("blk.0.attn_norm.weight")!.type).toBe(GgmlType.F32);
  });

  it("parses well under 100 ms", () => {
    const bytes = readModelFile("llama-2-tiny-random.gguf");
    readGguf(bytes); // warm-up
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      readGguf(bytes);
      best = Math.min(best, performance.now() - t0);
    }
    expect(best).toBeLessThan(50);
  });
});

describe.skipIf(!optionalFixtures(KQUANT_MODELS).available)("oracle kquant-gqa files", () => {
  const expected: Record<string, Record<string, number>> = {
    F32: { F32: 21 }, F16: { F16: 16, F32: 5 }, BF16: { BF16: 16, F32: 5 }, Q8_0: { Q8_0: 16, F32: 5 }, Q4_0: { Q4_0: 16, F32: 5 },
    Q4_1: { Q4_1: 16, F32: 5 }, Q5_0: { Q5_0: 16, F32: 5 }, Q5_1: { Q5_1: 16, F32: 5 }, Q4_K: { Q4_K: 16, F32: 5 },
    Q5_K: { Q5_K: 16, F32: 5 }, Q6_K: { Q6_K: 16, F32: 5 }, Q4_K_M: { Q4_K: 13, Q6_K: 3, F32: 5 }, Q5_K_M: { Q5_K: 13, Q6_K: 3, F32: 5 },
  };
  const files = listFixtures("oracle", ".gguf").map((f) => f.slice("oracle/".length));

  it("all 13 are present", () => expect(files.map((f) => f.slice("kquant-gqa-".length, -".gguf".length)).sort()).toEqual(Object.keys(expected).sort()));

  it.each(Object.keys(expected))("kquant-gqa-%s parses with the expected layout and tensor types", (kind) => {
    const f = read(`oracle/kquant-gqa-${kind}.gguf`);
    expect([f.version, f.alignment, f.tensors.length]).toEqual([3, 32, 21]);
    expect(f.dataOffset).toBe(kind === "F32" ? 12704 : 12736);
    expect(typeCounts(f)).toEqual(expected[kind]);
    expect(f.tensorByName.get("blk.1.ffn_down.weight")!.dims).toEqual([768, 256]);
    expect(f.tensorByName.get("blk.0.attn_k.weight")!.dims).toEqual([256, 64]);
    expect(metaNumber(f, "llama.attention.head_count_kv")).toBe(2);
    expect(metaArray(f, KEY.tokens).items).toHaveLength(512);
    for (const t of f.tensors) expect(tensorData(f, t).byteLength).toBe(t.nBytes);
    if (kind.endsWith("_M")) {
      for (const n of ["output.weight", "blk.1.attn_v.weight", "blk.1.ffn_down.weight"]) expect(f.tensorByName.get(n)!.type).toBe(GgmlType.Q6_K);
    }
  });
});
