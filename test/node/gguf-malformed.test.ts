// Malformed GGUF input: every class of damage gets a GgufError naming it; random damage never escapes as another error.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { GgmlType, GgufError, gguf, readGguf, writeGguf } from "../../src/gguf/index";
import { readModelFile } from "../../src/util/model-dir";

/** A small valid file: two metadata entries, two Q8_0 tensors. */
function smallFile(): Uint8Array {
  return writeGguf({
    metadata: [["general.architecture", gguf.str("llama")], ["n", gguf.u32(7)]],
    tensors: [
      { name: "a", dims: [32, 2], type: GgmlType.Q8_0, data: new Uint8Array(68).fill(1) },
      { name: "b", dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(34).fill(2) },
    ],
  });
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** Offset of the first occurrence of an ASCII string (for patching fields in place). */
const find = (b: Uint8Array, s: string) => Buffer.from(b).indexOf(Buffer.from(s));

function expectGgufError(bytes: Uint8Array, message: RegExp): void {
  let caught: unknown;
  try {
    readGguf(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(GgufError);
  expect((caught as Error).message).toMatch(message);
}

describe("malformed GGUF", () => {
  it("bad magic", () => expectGgufError(new TextEncoder().encode("GGML0000"), /bad magic: expected "GGUF".*got 47 47 4d 4c/));
  it("empty input", () => expectGgufError(new Uint8Array(0), /bad magic.*empty file/));

  it("unsupported version", () => {
    const b = smallFile();
    view(b).setUint32(4, 1, true);
    expectGgufError(b, /unsupported GGUF version 1/);
  });

  it("version 2 reads like version 3", () => {
    const b = smallFile();
    view(b).setUint32(4, 2, true);
    expect(readGguf(b).version).toBe(2);
  });

  it("truncated header", () => expectGgufError(smallFile().subarray(0, 20), /truncated file: metadata entry count needs 8 bytes but only 4 remain \(at byte 16\)/));

  it("absurd counts", () => {
    const b = smallFile();
    view(b).setBigUint64(8, 1n << 40n, true);
    expectGgufError(b, /absurd tensor count/);
    const c = smallFile();
    view(c).setBigUint64(16, 1000n, true);
    expectGgufError(c, /absurd counts: 1000 metadata entries/);
  });

  it("string length past the end", () => {
    const b = smallFile();
    view(b).setBigUint64(24, 1n << 33n, true); // length of the first key
    expectGgufError(b, /string length 8589934592 runs past the end/);
  });

  it("unknown value type", () => {
    const b = smallFile();
    const at = find(b, "general.architecture") + "general.architecture".length;
    view(b).setUint32(at, 99, true);
    expectGgufError(b, /metadata general\.architecture: unknown value type 99/);
  });

  it("unknown tensor type", () => {
    const b = smallFile();
    const at = find(b, "b\x01\x00\x00\x00") + 1 + 4 + 8; // name "b", n_dims, one dim
    view(b).setUint32(at, 77, true);
    expectGgufError(b, /tensor b: unknown tensor type 77/);
  });

  it("tensor data out of bounds", () => expectGgufError(smallFile().subarray(0, smallFile().length - 40), /tensor b: data \[96, 130\) runs past the end/));

  it("overlapping tensors", () => {
    const b = smallFile();
    const at = find(b, "b\x01\x00\x00\x00") + 1 + 4 + 8 + 4; // offset field of "b"
    view(b).setBigUint64(at, 32n, true);
    expectGgufError(b, /tensors a and b overlap/);
  });

  it("misaligned tensor offset", () => {
    const b = smallFile();
    const at = find(b, "b\x01\x00\x00\x00") + 1 + 4 + 8 + 4;
    view(b).setBigUint64(at, 100n, true);
    expectGgufError(b, /data offset 100 is not a multiple of the alignment 32/);
  });

  it("row length not a multiple of the block size", () => {
    const b = smallFile();
    view(b).setBigUint64(find(b, "b\x01\x00\x00\x00") + 5, 33n, true);
    expectGgufError(b, /row length 33 is not a multiple of the Q8_0 block size 32/);
  });

  it("duplicate tensor names and metadata keys", () => {
    const b = smallFile();
    b[find(b, "b\x01\x00\x00\x00")] = "a".charCodeAt(0);
    expectGgufError(b, /duplicate tensor name a/);
    const c = writeGguf({ metadata: [["k1", gguf.u32(1)], ["k2", gguf.u32(2)]], tensors: [] });
    c[find(c, "k2")! + 1] = "1".charCodeAt(0);
    expectGgufError(c, /duplicate metadata key k1/);
  });
});

/** Parses; the only acceptable failure is a GgufError. */
function parsesOrGgufError(bytes: Uint8Array): boolean {
  try {
    readGguf(bytes);
    return true;
  } catch (e) {
    if (e instanceof GgufError) return true;
    throw e;
  }
}

describe("fuzz: random damage only ever gives GgufError", () => {
  const files = { stories: readModelFile("stories260K.gguf"), q4: readModelFile("stories260K-Q4_0.gguf"), small: smallFile() };
  for (const [name, original] of Object.entries(files)) {
    // Parsing happens in the header: aim most damage there (the first 16 KB), the rest anywhere.
    const headerEnd = Math.min(original.length, 16384);
    it(`${name}: random truncations`, () => {
      fc.assert(fc.property(fc.nat({ max: original.length }), (n) => parsesOrGgufError(original.subarray(0, n))), { seed: 42, numRuns: 1000 });
    });
    it(`${name}: random byte flips`, () => {
      const flip = fc.record({ at: fc.oneof(fc.nat({ max: headerEnd - 1 }), fc.nat({ max: original.length - 1 })), value: fc.integer({ min: 0, max: 255 }) });
      fc.assert(
        fc.property(fc.array(flip, { minLength: 1, maxLength: 8 }), (flips) => {
          const damaged = original.slice();
          for (const { at, value } of flips) damaged[at] = value;
          return parsesOrGgufError(damaged);
        }),
        { seed: 7, numRuns: 2000 },
      );
    });
  }
});
