// KV_CACHE_TYPE parsing (default, per-model entries, errors) and kv-format's conversions (f16 ties to even, q8_0 blocks).
import { describe, expect, it } from "vitest";
import { decodeKv, encodeKv, kvBytesPerPosition, kvRowBytes, parseKvType } from "../../src/backends/kv-format";
import { kvCacheType, type Env } from "../../src/env";

const env = (v?: string) => ({ KV_CACHE_TYPE: v }) as unknown as Env;

describe("KV_CACHE_TYPE", () => {
  it("defaults to f32; a bare type applies to every model; NAME=TYPE entries override it for that MODEL_NAME", () => {
    expect(kvCacheType(env(), "a.gguf")).toBe("f32");
    expect(kvCacheType(env(""), "a.gguf")).toBe("f32");
    expect(kvCacheType(env("F16"), "a.gguf")).toBe("f16");
    const v = env("q8_0, stories260K.gguf=f16 , b.gguf = f32");
    expect(kvCacheType(v, "a.gguf")).toBe("q8_0");
    expect(kvCacheType(v, "stories260K.gguf")).toBe("f16");
    expect(kvCacheType(v, "b.gguf")).toBe("f32");
    expect(kvCacheType(env("a.gguf=q8_0"), "a.gguf")).toBe("q8_0");
    expect(kvCacheType(env("a.gguf=q8_0"), "c.gguf")).toBe("f32");
  });

  it("an unknown type is a configuration error naming the choices", () => {
    expect(() => kvCacheType(env("q4_0"), "a.gguf")).toThrow(/f32 \| f16 \| q8_0/);
    expect(() => kvCacheType(env("a.gguf=bf16"), "a.gguf")).toThrow(/unknown type "bf16"/);
    expect(() => parseKvType("int8")).toThrow(RangeError);
  });
});

describe("kv-format", () => {
  it("sizes: f32 4, f16 2, q8_0 34 bytes per 32 elements; per position over K and V of every layer", () => {
    expect([kvRowBytes("f32", 64), kvRowBytes("f16", 64), kvRowBytes("q8_0", 64)]).toEqual([256, 128, 68]);
    expect(kvBytesPerPosition({ nLayers: 30, nCtx: 1, nKvHeads: 3, headDim: 64, type: "q8_0" })).toBe(12_240);
    expect(kvBytesPerPosition({ nLayers: 30, nCtx: 1, nKvHeads: 3, headDim: 64 })).toBe(46_080);
  });

  it("f16 rounds to nearest, ties to even, and decodes exactly", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to 1 (even); 1 + 3·2^-11 ties up to 1 + 2^-9.
    const x = Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 70000, -0.1, 2 ** -24);
    const bytes = new Uint8Array(12);
    encodeKv("f16", x, 0, 6, bytes, 0);
    const y = new Float32Array(6);
    decodeKv("f16", bytes, 0, y, 0, 6);
    expect(Array.from(y)).toEqual([1, 1 + 2 ** -9, 65504, Infinity, Math.fround(-0.0999755859375), 2 ** -24]);
  });

  it("q8_0: d = f16(amax/127), the largest element is ±127, values decode to d·q", () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 12) / 7);
    const bytes = new Uint8Array(34);
    encodeKv("q8_0", x, 0, 32, bytes, 0);
    const q = new Int8Array(bytes.buffer, 2, 32);
    expect(q[31]).toBe(127);
    expect(q[12]).toBe(0);
    const y = new Float32Array(32);
    decodeKv("q8_0", bytes, 0, y, 0, 32);
    for (let i = 0; i < 32; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual((19 / 7 / 127) * 0.5 * 1.001);
  });
});
