// GGUF reader on the real files, and the writer: read → write reproduces llama.cpp's bytes; every value type round-trips.
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { GgmlType, GgufValueType, gguf, metaArray, metaNumber, readGguf, tensorData, writeGguf, type GgufFile } from "../../src/gguf/index";
import { modelPath, readModelFile } from "../../src/util/model-dir";

const REAL = ["stories260K.gguf", "stories260K-Q8_0.gguf", "stories260K-Q4_0.gguf", "llama-2-tiny-random.gguf", ...readdirSync(modelPath("oracle")).filter((f) => f.endsWith(".gguf")).map((f) => `oracle/${f}`)];

function rewrite(file: GgufFile): Uint8Array {
  return writeGguf({ metadata: file.metadata, tensors: file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: tensorData(file, t) })) });
}

describe("readGguf on real files", () => {
  it("stories260K (F32): layout, shapes and metadata", () => {
    const f = readGguf(readModelFile("stories260K.gguf"));
    expect([f.version, f.alignment, f.dataOffset, f.tensors.length]).toEqual([3, 32, 14176, 48]);
    expect(f.tensorByName.get("token_embd.weight")!.dims).toEqual([64, 512]);
    expect(f.tensorByName.get("blk.0.attn_k.weight")!.dims).toEqual([64, 32]);
    expect(f.tensorByName.get("blk.4.ffn_down.weight")).toMatchObject({ dims: [172, 64], type: GgmlType.F32, nBytes: 172 * 64 * 4 });
    expect(metaNumber(f, "llama.embedding_length")).toBe(64);
    expect(metaNumber(f, "llama.attention.head_count_kv")).toBe(4);
    expect(metaNumber(f, "llama.attention.layer_norm_rms_epsilon")).toBe(Math.fround(1e-5));
    expect(metaArray(f, "tokenizer.ggml.tokens").items).toHaveLength(512);
    expect(metaArray(f, "tokenizer.ggml.tokens").items[403]).toBe("▁Once");
  });

  it("quantized files: data offset 14240, type counts as llama.cpp reports them", () => {
    const count = (f: GgufFile) => f.tensors.reduce<Record<string, number>>((acc, t) => ({ ...acc, [GgmlType[t.type]!]: (acc[GgmlType[t.type]!] ?? 0) + 1 }), {});
    const q8 = readGguf(readModelFile("stories260K-Q8_0.gguf"));
    const q4 = readGguf(readModelFile("stories260K-Q4_0.gguf"));
    expect(q8.dataOffset).toBe(14240);
    expect(count(q8)).toEqual({ Q8_0: 32, F16: 5, F32: 11 });
    expect(count(q4)).toEqual({ Q4_0: 31, Q8_0: 1, F16: 5, F32: 11 });
    expect(q4.tensorByName.get("output.weight")!.type).toBe(GgmlType.Q8_0);
    expect(q4.tensors[0]!.name).toBe("output.weight"); // the quantizer reorders tensors
  });

  it("tensorData is a zero-copy view of the right length", () => {
    const f = readGguf(readModelFile("stories260K-Q4_0.gguf"));
    const t = f.tensorByName.get("blk.1.attn_q.weight")!;
    const view = tensorData(f, t);
    expect(view.buffer).toBe(f.bytes.buffer);
    expect(view.byteLength).toBe((64 * 64 / 32) * 18);
    expect(view.byteOffset - f.bytes.byteOffset).toBe(f.dataOffset + t.offset);
  });

  it("the 32000-piece vocabulary parses, including a token that is a lone BOM", () => {
    const f = readGguf(readModelFile("llama-2-tiny-random.gguf"));
    const tokens = metaArray(f, "tokenizer.ggml.tokens").items as string[];
    expect(tokens).toHaveLength(32000);
    expect(tokens).toContain("\uFEFF");
    expect(f.tensorByName.get("token_embd.weight")).toMatchObject({ dims: [8, 32000], type: GgmlType.F16 });
  });
});

describe("writeGguf", () => {
  it.each(REAL)("read → write reproduces %s byte for byte", (name) => {
    const bytes = readModelFile(name);
    const out = rewrite(readGguf(bytes));
    expect(out.byteLength).toBe(bytes.byteLength);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(bytes))).toBe(0);
  });

  it("every value type and nested arrays round-trip", () => {
    const metadata = [
      ["u8", gguf.u8(255)],
      ["i8", { type: GgufValueType.INT8, value: -128 }],
      ["u16", { type: GgufValueType.UINT16, value: 65535 }],
      ["i16", { type: GgufValueType.INT16, value: -32768 }],
      ["u32", gguf.u32(4294967295)],
      ["i32", gguf.i32(-2147483648)],
      ["f32", gguf.f32(Math.fround(0.1))],
      ["f64", { type: GgufValueType.FLOAT64, value: 0.1 }],
      ["u64", gguf.u64(18446744073709551615n)],
      ["i64", { type: GgufValueType.INT64, value: -9223372036854775808n }],
      ["bool", gguf.bool(true)],
      ["str", gguf.str("héllo ▁ 🦙")],
      ["empty", gguf.str("")],
      ["nested", gguf.arr(GgufValueType.ARRAY, [{ elementType: GgufValueType.INT32, items: [1, -2, 3] }, { elementType: GgufValueType.STRING, items: ["a", ""] }])],
      ["general.alignment", gguf.u32(64)],
    ] as const;
    const data = new Uint8Array(18 * 2).map((_, i) => i);
    const bytes = writeGguf({ metadata, tensors: [{ name: "t", dims: [64], type: GgmlType.Q4_0, data }] });
    const f = readGguf(bytes);
    expect(f.alignment).toBe(64);
    expect(f.dataOffset % 64).toBe(0);
    expect([...f.metadata.entries()]).toEqual(metadata.map(([k, v]) => [k, v]));
    expect(Array.from(tensorData(f, "t"))).toEqual(Array.from(data));
    expect(rewrite(f)).toEqual(bytes);
  });

  it("refuses tensor data that does not match dims and type", () => {
    expect(() => writeGguf({ metadata: [], tensors: [{ name: "w", dims: [32, 2], type: GgmlType.Q8_0, data: new Uint8Array(34) }] })).toThrowError(/w: 34 bytes of data, 68 expected/);
    expect(() => writeGguf({ metadata: [], tensors: [{ name: "w", dims: [31], type: GgmlType.Q8_0, data: new Uint8Array(34) }] })).toThrowError(/do not suit Q8_0/);
  });
});
