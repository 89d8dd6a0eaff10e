// GGUF writer: read → write reproduces llama.cpp's bytes for every real file; every value type round-trips; bad specs are refused.
import { describe, expect, it } from "vitest";
import { GgmlType, GgufError, GgufValueType, gguf, readGguf, tensorData, writeGguf, type GgufFile, type GgufValue, type GgufWriteSpec } from "../../src/gguf/index";
import { CORE_MODELS, KQUANT_MODELS, LLAMA2_RANDOM, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";
import { dv } from "./gguf-fixtures";

const T = GgufValueType;
// The shipped files always; the larger set (Llama-2 vocabulary, kquant-gqa oracles) where present.
const larger = optionalFixtures([LLAMA2_RANDOM, ...KQUANT_MODELS]);
const REAL: string[] = [...CORE_MODELS, ...(larger.available ? [LLAMA2_RANDOM, ...KQUANT_MODELS] : [])];

const specOf = (file: GgufFile): GgufWriteSpec => ({
  metadata: file.metadata,
  tensors: file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: tensorData(file, t) })),
});
const rewrite = (file: GgufFile) => writeGguf(specOf(file));

describe("read → write → read on the real files", () => {
  it.each(REAL)("%s: identical metadata (order, types, values), tensor infos and data, and identical bytes", (name) => {
    const bytes = readModelFile(name);
    const a = readGguf(bytes);
    const out = rewrite(a);
    const b = readGguf(out);
    expect([...b.metadata]).toEqual([...a.metadata]);
    expect(b.tensors).toEqual(a.tensors);
    expect([b.alignment, b.dataOffset]).toEqual([a.alignment, a.dataOffset]);
    for (const t of a.tensors) expect(Buffer.from(tensorData(b, t.name)).equals(Buffer.from(tensorData(a, t)))).toBe(true);
    // llama.cpp's layout: each tensor's data padded to the alignment, the data section aligned; hence the same bytes.
    expect(out.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe("value round trips", () => {
  const everyType = [
    ["u8", gguf.u8(255)],
    ["i8", gguf.i8(-128)],
    ["u16", gguf.u16(65535)],
    ["i16", gguf.i16(-32768)],
    ["u32", gguf.u32(4294967295)],
    ["i32", gguf.i32(-2147483648)],
    ["f32", gguf.f32(0.1)],
    ["f32 specials", gguf.arr(T.FLOAT32, [Infinity, -Infinity, -0, 3.4028234663852886e38, 1e-45])],
    ["f64", gguf.f64(0.1)],
    ["f64 NaN", gguf.f64(NaN)],
    ["u64", gguf.u64(18446744073709551615n)],
    ["i64", gguf.i64(-9223372036854775808n)],
    ["bool true", gguf.bool(true)],
    ["bool false", gguf.bool(false)],
    ["str", gguf.str("héllo ▁ 🦙 \u0000 \uFEFF")],
    ["empty str", gguf.str("")],
    ["", gguf.str("empty key")],
    ["u8 array", gguf.arr(T.UINT8, [0, 1, 255])],
    ["i8 array", gguf.arr(T.INT8, [-128, 0, 127])],
    ["u16 array", gguf.arr(T.UINT16, [0, 65535])],
    ["i16 array", gguf.arr(T.INT16, [-32768, 32767])],
    ["u32 array", gguf.arr(T.UINT32, [0, 4294967295])],
    ["i32 array", gguf.arr(T.INT32, [-1, 2, -3])],
    ["f64 array", gguf.arr(T.FLOAT64, [Math.PI, -0])],
    ["u64 array", gguf.arr(T.UINT64, [0n, 18446744073709551615n])],
    ["i64 array", gguf.arr(T.INT64, [-9223372036854775808n, 9223372036854775807n])],
    ["bool array", gguf.arr(T.BOOL, [true, false, true])],
    ["str array", gguf.arr(T.STRING, ["a", "", "▁b"])],
    ["empty array", gguf.arr(T.UINT32, [])],
    ["nested", gguf.arr(T.ARRAY, [{ elementType: T.INT32, items: [1, -2, 3] }, { elementType: T.STRING, items: ["a", ""] }, { elementType: T.BOOL, items: [] }])],
    ["nested twice", gguf.arr(T.ARRAY, [{ elementType: T.ARRAY, items: [{ elementType: T.UINT64, items: [7n] }] }])],
  ] as const satisfies readonly (readonly [string, GgufValue])[];

  it("every value type, arrays of each, and nested arrays come back with the same type, value and order", () => {
    const bytes = writeGguf({ metadata: everyType, tensors: [] });
    const f = readGguf(bytes);
    expect([...f.metadata.entries()]).toEqual(everyType.map(([k, v]) => [k, v]));
    expect(Object.is((f.metadata.get("f64 NaN")!.value as number), NaN)).toBe(true);
    expect(f.metadata.get("f32")!.value).toBe(Math.fround(0.1)); // gguf.f32 rounds up front, so equality holds
    expect(rewrite(f)).toEqual(bytes);
  });

  it("a file with no metadata and no tensors is just the 24-byte header padded to 32", () => {
    const b = writeGguf({ metadata: [], tensors: [] });
    expect(Array.from(b)).toEqual([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, ...new Array(16).fill(0), ...new Array(8).fill(0)]);
    expect(readGguf(b)).toMatchObject({ version: 3, dataOffset: 32, tensors: [] });
  });
});

describe("layout", () => {
  const q4 = (n: number) => new Uint8Array((n / 32) * 18).map((_, i) => (i * 7 + 1) & 0xff);

  it("tensor data: each tensor at a multiple of the alignment, zero padding between and after", () => {
    const a = q4(64), b = q4(32);
    const bytes = writeGguf({ metadata: [["k", gguf.u32(1)]], tensors: [{ name: "a", dims: [64], type: GgmlType.Q4_0, data: a }, { name: "b", dims: [32], type: GgmlType.Q4_0, data: b }] });
    const f = readGguf(bytes);
    expect(f.tensors.map((t) => t.offset)).toEqual([0, 64]);
    expect(f.dataOffset % 32).toBe(0);
    expect(bytes.byteLength).toBe(f.dataOffset + 64 + 32);
    expect(bytes.subarray(f.dataOffset + 36, f.dataOffset + 64).every((x) => x === 0)).toBe(true);
    expect(bytes.subarray(f.dataOffset + 64 + 18).every((x) => x === 0)).toBe(true);
    expect(Array.from(tensorData(f, "b"))).toEqual(Array.from(b));
  });

  it("alignment 64: from general.alignment, from the option (the key is then added), and the two must agree", () => {
    const tensors = [{ name: "t", dims: [64], type: GgmlType.Q4_0, data: q4(64) }, { name: "u", dims: [32], type: GgmlType.Q4_0, data: q4(32) }];
    const viaKey = readGguf(writeGguf({ metadata: [["general.alignment", gguf.u32(64)]], tensors }));
    expect([viaKey.alignment, viaKey.dataOffset % 64, viaKey.tensors[1]!.offset]).toEqual([64, 0, 64]);
    const viaOption = writeGguf({ metadata: [["a", gguf.u8(1)]], tensors, alignment: 64 });
    const f = readGguf(viaOption);
    expect([...f.metadata.keys()]).toEqual(["a", "general.alignment"]);
    expect(f.alignment).toBe(64);
    expect(Array.from(tensorData(f, "u"))).toEqual(Array.from(q4(32)));
    expect(() => writeGguf({ metadata: [["general.alignment", gguf.u32(64)]], tensors, alignment: 32 })).toThrowError(/"general.alignment" \(64\) disagrees with the requested alignment 32/);
    expect(() => writeGguf({ metadata: [], tensors, alignment: 48 })).toThrowError(/alignment must be a power of two.*got 48/);
    expect(() => writeGguf({ metadata: [["general.alignment", gguf.u64(64n)]], tensors })).toThrowError(/"general.alignment" must be a UINT32 power of two, got UINT64 64/);
  });

  it("a version 2 file (same layout, version field 2) reads like version 3", () => {
    const bytes = readModelFile("stories260K-Q4_0.gguf").slice();
    dv(bytes).setUint32(4, 2, true);
    const f = readGguf(bytes);
    expect([f.version, f.dataOffset, f.tensors.length]).toEqual([2, 14240, 48]);
    const small = writeGguf({ metadata: [["x", gguf.str("y")]], tensors: [{ name: "t", dims: [32], type: GgmlType.Q4_0, data: q4(32) }] });
    dv(small).setUint32(4, 2, true);
    expect(readGguf(small).version).toBe(2);
    expect(Array.from(tensorData(readGguf(small), "t"))).toEqual(Array.from(q4(32)));
  });
});

describe("invalid specs are refused with a GgufError", () => {
  const w = (spec: Partial<GgufWriteSpec>) => () => writeGguf({ metadata: [], tensors: [], ...spec });
  const t = (name: string, dims: number[], type: number, n: number) => ({ name, dims, type, data: new Uint8Array(n) });

  it("tensor data length must match dims and type", () => {
    expect(w({ tensors: [t("w", [32, 2], GgmlType.Q8_0, 34)] })).toThrowError(/tensor "w": 34 bytes of data, 68 expected for \[32, 2\] Q8_0/);
    expect(w({ tensors: [t("w", [172, 64], GgmlType.F16, 172 * 64 * 4)] })).toThrowError(/44032 bytes of data, 22016 expected/);
  });
  it("dims: block size, count, values", () => {
    expect(w({ tensors: [t("w", [31], GgmlType.Q8_0, 34)] })).toThrowError(/row length 31 is not a multiple of the Q8_0 block size 32/);
    expect(w({ tensors: [t("w", [], GgmlType.F32, 0)] })).toThrowError(/needs 1..4 dims/);
    expect(w({ tensors: [t("w", [1, 1, 1, 1, 1], GgmlType.F32, 4)] })).toThrowError(/needs 1..4 dims/);
    expect(w({ tensors: [t("w", [4, 0], GgmlType.F32, 0)] })).toThrowError(/dims \[4, 0\] must be positive integers/);
    expect(w({ tensors: [t("w", [2.5], GgmlType.F32, 10)] })).toThrowError(/must be positive integers/);
    expect(w({ tensors: [t("w", [2 ** 30, 2 ** 30], GgmlType.F32, 0)] })).toThrowError(/element count of dims .* overflows/);
  });
  it("unknown type, duplicate or over-long names", () => {
    expect(w({ tensors: [t("w", [4], 99, 4)] })).toThrowError(/tensor "w": unknown tensor type 99/);
    expect(w({ tensors: [t("w", [1], GgmlType.F32, 4), t("w", [1], GgmlType.F32, 4)] })).toThrowError(/duplicate tensor name "w"/);
    expect(w({ tensors: [t("x".repeat(64), [1], GgmlType.F32, 4)] })).toThrowError(/name is 64 bytes; llama.cpp allows at most 63/);
    expect(w({ tensors: [t("x".repeat(63), [1], GgmlType.F32, 4)] })).not.toThrow();
  });
  it("metadata: duplicate keys, out-of-range or mistyped values", () => {
    expect(w({ metadata: [["k", gguf.u8(1)], ["k", gguf.u8(2)]] })).toThrowError(/duplicate metadata key "k"/);
    expect(w({ metadata: [["k", gguf.u8(256)]] })).toThrowError(/metadata "k": 256 is not a UINT8 \(an integer in \[0, 255\]\)/);
    expect(w({ metadata: [["k", gguf.i32(1.5)]] })).toThrowError(/1.5 is not a INT32/);
    expect(w({ metadata: [["k", gguf.u32(-1)]] })).toThrowError(/-1 is not a UINT32/);
    expect(w({ metadata: [["k", gguf.u64(-1n)]] })).toThrowError(/-1 is not a UINT64/);
    expect(w({ metadata: [["k", { type: T.UINT64, value: 5 } as never]] })).toThrowError(/is not a UINT64 \(a bigint/);
    expect(w({ metadata: [["k", { type: T.BOOL, value: 1 } as never]] })).toThrowError(/1 is not a boolean/);
    expect(w({ metadata: [["k", { type: T.STRING, value: 5 } as never]] })).toThrowError(/5 is not a string/);
    expect(w({ metadata: [["k", { type: 13, value: 5 } as never]] })).toThrowError(/unknown value type type 13/);
    expect(w({ metadata: [["k", gguf.arr(T.UINT8, [1, 300])]] })).toThrowError(/300 is not a UINT8/);
    expect(w({ metadata: [["k", gguf.arr(42 as GgufValueType, [])]] })).toThrowError(/ARRAY value must be \{ elementType, items/);
    expect(w({ metadata: [["k", gguf.arr(T.ARRAY, [[1] as never])]] })).toThrowError(/ARRAY value must be/);
    for (const bad of [w({ metadata: [["k", gguf.u8(256)]] }), w({ tensors: [t("w", [4], 99, 4)] })]) expect(bad).toThrowError(GgufError);
  });
  it("arrays nested deeper than the reader accepts (8 levels round-trip, 9 are refused)", () => {
    const nest = (levels: number) => {
      let a = { elementType: T.UINT8, items: [5] } as GgufValue["value"];
      for (let i = 1; i < levels; i++) a = { elementType: T.ARRAY, items: [a as never] };
      return { type: T.ARRAY, value: a } as GgufValue;
    };
    const eight = nest(8);
    expect(readGguf(writeGguf({ metadata: [["k", eight]], tensors: [] })).metadata.get("k")).toEqual(eight);
    expect(w({ metadata: [["k", nest(9)]] })).toThrowError(/metadata "k": arrays nested deeper than 8/);
  });
});
