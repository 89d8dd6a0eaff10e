// Malformed GGUF input, one class per test: each gives a GgufError that names what is wrong, and where.
import { describe, expect, it } from "vitest";
import { GgmlType, GgufError, GgufValueType, gguf, readGguf, writeGguf } from "../../src/gguf/index";
import { readFixture } from "../helpers/fixtures";
import { cat, dv, expectGgufError, find, header, kv, rawFile, smallFile, str, tensorInfo, u32, u64 } from "./gguf-fixtures";

const T = GgufValueType;
// Offsets inside smallFile(): the tensor infos follow the metadata; "b" is the second tensor (1 dim).
const bInfo = (b: Uint8Array) => find(b, cat(str("b"), u32(1)));
const bOffsetField = (b: Uint8Array) => bInfo(b) + 9 + 4 + 8 + 4;

describe("header", () => {
  it("bad magic", () => {
    const e = expectGgufError(new TextEncoder().encode("GGML\x03\x00\x00\x00"), /bad magic: expected "GGUF".*got 47 47 4d 4c/);
    expect(e.offset).toBe(0);
    expect(e.name).toBe("GgufError");
  });
  it("empty and 3-byte inputs", () => {
    expectGgufError(new Uint8Array(0), /bad magic.*empty file/);
    expectGgufError(new Uint8Array([0x47, 0x47, 0x55]), /bad magic.*got 47 47 55/);
  });
  it("unsupported versions: 1, 4, and a big-endian file", () => {
    for (const [v, msg] of [[1, /unsupported GGUF version 1 \(v1 used 32-bit counts\)/], [4, /unsupported GGUF version 4; supported: 2, 3/], [0x03000000, /big-endian/]] as const) {
      const b = smallFile();
      dv(b).setUint32(4, v, true);
      expect(expectGgufError(b, msg).offset).toBe(4);
    }
  });
  it("truncated header", () => {
    expectGgufError(smallFile().subarray(0, 6), /truncated file: version needs 4 bytes but only 2 remain \(at byte 4\)/);
    expectGgufError(smallFile().subarray(0, 20), /truncated file: metadata entry count needs 8 bytes but only 4 remain \(at byte 16\)/);
  });
});

describe("absurd counts", () => {
  it("tensor count above the cap", () => {
    const b = smallFile();
    dv(b).setBigUint64(8, 1n << 40n, true);
    expect(expectGgufError(b, /absurd count: tensor count is 1099511627776, above the limit of 65536 \(ReadGgufOptions.maxTensors\)/).offset).toBe(8);
  });
  it("metadata count above the cap, u64 max", () => {
    const b = smallFile();
    dv(b).setBigUint64(16, (1n << 64n) - 1n, true);
    expectGgufError(b, /absurd count: metadata entry count is 18446744073709551615/);
  });
  it("counts under the caps but more than the remaining bytes could hold", () => {
    const b = smallFile();
    dv(b).setBigUint64(16, 60000n, true);
    expectGgufError(b, /absurd count: 60000 metadata entries and 2 tensor infos need at least \d+ bytes but only \d+ remain/);
  });
  it("array count larger than the remaining bytes", () => {
    const b = rawFile(0, [kv("arr", T.ARRAY, cat(u32(T.UINT32), u64(1_000_000)))], []);
    expectGgufError(b, /absurd count: metadata "arr" array of 1000000 UINT32 needs at least 4000000 bytes but only \d+ remain/);
    const s = rawFile(0, [kv("s", T.ARRAY, cat(u32(T.STRING), u64(5000), u64(0)))], []);
    expectGgufError(s, /array of 5000 STRING needs at least 40000 bytes/);
  });
  it("configurable caps", () => {
    const bytes = readFixture("stories260K.gguf");
    expectGgufError(bytes, /absurd count: metadata "tokenizer.ggml.tokens" array length is 512, above the limit of 100 \(ReadGgufOptions.maxArrayLength\)/, { maxArrayLength: 100 });
    expectGgufError(bytes, /absurd count: tensor count is 48, above the limit of 10/, { maxTensors: 10 });
    expectGgufError(bytes, /absurd count: metadata entry count is \d+, above the limit of 3/, { maxMetadataEntries: 3 });
    expectGgufError(bytes, /absurd count: metadata key #0 string length is 21, above the limit of 5 \(ReadGgufOptions.maxStringLength\)/, { maxStringLength: 5 });
    // Unset caps keep their defaults; Infinity lifts a cap; nonsense is refused up front.
    expect(readGguf(bytes, { maxTensors: undefined, maxArrayLength: Infinity }).tensors).toHaveLength(48);
    expectGgufError(bytes, /ReadGgufOptions.maxTensors must be a non-negative integer, got 1.5/, { maxTensors: 1.5 });
    expectGgufError(bytes, /ReadGgufOptions.maxArrayLength must be a non-negative integer, got -1/, { maxArrayLength: -1 });
  });
});

describe("strings", () => {
  it("key length past the end of the file", () => {
    const b = smallFile();
    dv(b).setBigUint64(24, 1n << 33n, true); // length of the first key
    expect(expectGgufError(b, /metadata key #0: string length 8589934592 runs past the end of the file/).offset).toBe(24);
  });
  it("string array item length past the end", () => {
    const b = smallFile();
    dv(b).setBigUint64(find(b, "bc") - 8, 1000n, true);
    expectGgufError(b, /metadata "tokens"\[1\]: string length 1000 runs past the end/);
  });
  it("invalid UTF-8 decodes with replacement characters (length checked first)", () => {
    const b = rawFile(0, [kv("bad", T.STRING, cat(u64(3), [0x61, 0xff, 0x62]))], []);
    expect(readGguf(b).metadata.get("bad")).toEqual({ type: T.STRING, value: "a\uFFFDb" });
  });
});

describe("metadata values", () => {
  it("unknown value type", () => {
    const b = smallFile();
    const at = find(b, "general.architecture") + "general.architecture".length;
    dv(b).setUint32(at, 99, true);
    expect(expectGgufError(b, /metadata "general.architecture": unknown value type 99/).offset).toBe(at);
  });
  it("unknown array element type", () => {
    expectGgufError(rawFile(0, [kv("a", T.ARRAY, cat(u32(13), u64(0)))], []), /metadata "a" array element: unknown value type 13/);
  });
  it("invalid bool byte", () => {
    expectGgufError(rawFile(0, [kv("flag", T.BOOL, [2])], []), /metadata "flag": invalid bool byte 2 \(must be 0 or 1\)/);
    expectGgufError(rawFile(0, [kv("flags", T.ARRAY, cat(u32(T.BOOL), u64(2), [1, 7]))], []), /metadata "flags": invalid bool byte 7/);
  });
  it("value truncated mid-way", () => {
    const b = cat(header(0, 1), str("x"), u32(T.UINT64), [1, 2, 3]);
    expectGgufError(b, /truncated file: metadata "x" needs 8 bytes but only 3 remain/);
  });
  it("arrays nested too deeply", () => {
    let value: Uint8Array = cat(u32(T.UINT8), u64(0));
    for (let i = 0; i < 9; i++) value = cat(u32(T.ARRAY), u64(1), value);
    expectGgufError(rawFile(0, [kv("deep", T.ARRAY, value)], []), /metadata "deep": arrays nested deeper than 8/);
  });
  it("duplicate metadata keys", () => {
    const c = writeGguf({ metadata: [["k1", gguf.u32(1)], ["k2", gguf.u32(2)]], tensors: [] });
    c[find(c, "k2") + 1] = "1".charCodeAt(0);
    expectGgufError(c, /duplicate metadata key "k1"/);
  });
  it("general.alignment: wrong type, zero, not a power of two", () => {
    expectGgufError(rawFile(0, [kv("general.alignment", T.UINT64, u64(32))], []), /"general.alignment" must be a UINT32, found UINT64/);
    expectGgufError(rawFile(0, [kv("general.alignment", T.UINT32, u32(0))], []), /"general.alignment" must be a non-zero power of two, got 0/);
    expectGgufError(rawFile(0, [kv("general.alignment", T.UINT32, u32(48))], []), /power of two, got 48/);
  });
});

describe("tensor infos", () => {
  const one = (dims: (number | bigint)[], type: number = GgmlType.F32, offset = 0, dataBytes = 4096) =>
    rawFile(1, [], [tensorInfo("w", dims, type, offset)], dataBytes);

  it("unknown tensor type", () => {
    const b = smallFile();
    const at = bInfo(b) + 9 + 4 + 8;
    dv(b).setUint32(at, 77, true);
    expect(expectGgufError(b, /tensor "b": unknown tensor type 77/).offset).toBe(at);
    expectGgufError(one([4], 4), /unknown tensor type 4/); // a retired ggml id (Q4_2)
  });
  it("zero or too many dimensions", () => {
    expectGgufError(one([]), /tensor "w": 0 dimensions \(supported: 1..4\)/);
    expectGgufError(one([1, 1, 1, 1, 1]), /tensor "w": 5 dimensions/);
  });
  it("a dimension of 0, a negative (as int64) dimension, element count overflow", () => {
    expectGgufError(one([4, 0]), /tensor "w": dimension 1 is 0/);
    expectGgufError(one([(1n << 64n) - 1n]), /tensor "w" dimension 0 is 18446744073709551615, too large/);
    expectGgufError(one([1 << 30, 1 << 30]), /tensor "w": element count overflows/);
  });
  it("row length not a multiple of the block size", () => {
    const b = smallFile();
    dv(b).setBigUint64(bInfo(b) + 9 + 4, 33n, true);
    expectGgufError(b, /tensor "b": row length 33 is not a multiple of the Q8_0 block size 32/);
    expectGgufError(one([100, 2], GgmlType.Q4_K), /row length 100 is not a multiple of the Q4_K block size 256/);
  });
  it("tensor data out of bounds of the file", () => {
    const small = smallFile();
    expectGgufError(small.subarray(0, small.length - 40), /tensor "b": data \[96, 130\) runs past the end of the data section/);
    expectGgufError(one([1024, 2]), /tensor "w": data \[0, 8192\) runs past the end of the data section \(4096 bytes\)/);
    expectGgufError(one([4], GgmlType.F32, 1 << 20), /data \[1048576, 1048592\) runs past the end/);
    // Huge but representable dims: the byte size is far past the file, not an overflow.
    expectGgufError(one([2 ** 26, 2 ** 26]), /runs past the end/);
  });
  it("offset too large to represent", () => {
    expect(readGguf(one([4], GgmlType.F32, 0)).tensors).toHaveLength(1); // the same file with offset 0 is valid
    expectGgufError(one([4], GgmlType.F32, 2 ** 60), /tensor "w" data offset is 1152921504606846976, too large/);
  });
  it("overlapping tensors", () => {
    const b = smallFile();
    dv(b).setBigUint64(bOffsetField(b), 32n, true);
    expectGgufError(b, /tensors "a" \[0, 68\) and "b" \[32, \.\.\.\) overlap/);
  });
  it("misaligned tensor offset", () => {
    const b = smallFile();
    dv(b).setBigUint64(bOffsetField(b), 100n, true);
    expect(expectGgufError(b, /tensor "b": data offset 100 is not a multiple of the alignment 32/).offset).toBe(bOffsetField(b));
  });
  it("duplicate tensor names", () => {
    const b = smallFile();
    b[bInfo(b) + 8] = "a".charCodeAt(0);
    expectGgufError(b, /duplicate tensor name "a"/);
  });
  it("tensor info truncated", () => {
    const b = smallFile();
    expectGgufError(b.subarray(0, bOffsetField(b) + 3), /truncated file: tensor "b" data offset needs 8 bytes but only 3 remain/);
  });
  it("a hostile 1 MB name is cut short in the message", () => {
    const name = "x".repeat(1 << 20);
    const e = expectGgufError(rawFile(2, [], [tensorInfo(name, [4], 0, 0), tensorInfo(name, [4], 0, 32)], 64), /duplicate tensor name "x+…"/);
    expect(e.message.length).toBeLessThan(300);
  });
});

it("every error above is a GgufError subclass of Error with an offset that lies inside the file", () => {
  const b = smallFile();
  dv(b).setBigUint64(bOffsetField(b), 100n, true);
  const e = expectGgufError(b, /misaligned|not a multiple/);
  expect(e).toBeInstanceOf(Error);
  expect(e.offset).toBeGreaterThanOrEqual(0);
  expect(e.offset).toBeLessThan(b.length);
  expect(new GgufError("x").offset).toBeUndefined();
  expect(new GgufError("x", 5).message).toBe("x (at byte 5)");
});
