// Property tests: random truncations and byte damage only ever give a parse or a GgufError; random valid specs round-trip.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { GGML_TYPES, GgufError, GgufValueType, readGguf, tensorData, writeGguf, type GgufArray, type GgufValue } from "../../src/gguf/index";
import { readFixture } from "../helpers/fixtures";
import { smallFile } from "./gguf-fixtures";

/** Parses; the only acceptable failure is a GgufError. A successful parse must describe tensors that lie inside the file. */
function parsesOrGgufError(bytes: Uint8Array): true {
  let f;
  try {
    f = readGguf(bytes);
  } catch (e) {
    if (!(e instanceof GgufError)) throw e;
    // The reported position is a byte of the file (or its end, for a truncation).
    if (e.offset !== undefined && !(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.byteLength)) throw new Error(`offset ${e.offset} outside the file: ${e.message}`);
    return true;
  }
  expect(f.dataOffset % f.alignment).toBe(0);
  for (const t of f.tensors) {
    const view = tensorData(f, t);
    expect(view.byteLength).toBe(t.nBytes);
    expect(view.byteOffset + view.byteLength).toBeLessThanOrEqual(bytes.byteOffset + bytes.byteLength);
  }
  return true;
}

const FILES = { stories: readFixture("stories260K.gguf"), q4: readFixture("stories260K-Q4_0.gguf"), small: smallFile() };

describe("fuzz: damaged files only ever give a parse or a GgufError", () => {
  for (const [name, original] of Object.entries(FILES)) {
    const dataOffset = readGguf(original).dataOffset;
    // Parsing happens before the data section: aim most positions there, some anywhere.
    const position = fc.oneof(
      { weight: 4, arbitrary: fc.nat({ max: dataOffset - 1 }) },
      { weight: 1, arbitrary: fc.nat({ max: 64 }) }, // header and counts
      { weight: 1, arbitrary: fc.nat({ max: original.length - 1 }) },
    );
    // Values that make fields extreme (0, 1, 0x7f/0x80 sign edges, 0xff) as well as any byte.
    const byte = fc.oneof(fc.constantFrom(0x00, 0x01, 0x02, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 }));

    it(`${name}: random truncations`, () => {
      const cut = fc.oneof(fc.nat({ max: dataOffset + 64 }), fc.nat({ max: original.length }));
      fc.assert(fc.property(cut, (n) => parsesOrGgufError(original.subarray(0, n))), { seed: 42, numRuns: 3000 });
    });

    it(`${name}: 1–8 random byte changes`, () => {
      // Damage in place and restore afterwards: copying a 1 MB file 3000 times would dominate the run time.
      const damaged = original.slice();
      fc.assert(
        fc.property(fc.array(fc.tuple(position, byte), { minLength: 1, maxLength: 8 }), (changes) => {
          try {
            for (const [at, value] of changes) damaged[at] = value;
            return parsesOrGgufError(damaged);
          } finally {
            for (const [at] of changes) damaged[at] = original[at]!;
          }
        }),
        { seed: 42, numRuns: 3000 },
      );
    });

    it(`${name}: a damaged range (a run of 1–64 bytes set to one value) plus truncation`, () => {
      const damaged = original.slice();
      fc.assert(
        fc.property(position, fc.integer({ min: 1, max: 64 }), byte, fc.nat({ max: 16 }), (at, len, value, cutBack) => {
          const end = Math.min(original.length, at + len);
          try {
            damaged.fill(value, at, end);
            return parsesOrGgufError(damaged.subarray(0, Math.max(0, original.length - cutBack * 997)));
          } finally {
            damaged.set(original.subarray(at, end), at);
          }
        }),
        { seed: 42, numRuns: 1000 },
      );
    });
  }
});

// Random valid specs: every value type, nested arrays, tensors of random known types and shapes.
const scalar: Record<number, fc.Arbitrary<GgufArray["items"][number]>> = {
  [GgufValueType.UINT8]: fc.integer({ min: 0, max: 255 }),
  [GgufValueType.INT8]: fc.integer({ min: -128, max: 127 }),
  [GgufValueType.UINT16]: fc.integer({ min: 0, max: 65535 }),
  [GgufValueType.INT16]: fc.integer({ min: -32768, max: 32767 }),
  [GgufValueType.UINT32]: fc.nat({ max: 0xffffffff }),
  [GgufValueType.INT32]: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  [GgufValueType.FLOAT32]: fc.float({ noNaN: true }),
  [GgufValueType.FLOAT64]: fc.double({ noNaN: true }),
  [GgufValueType.UINT64]: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  [GgufValueType.INT64]: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  [GgufValueType.BOOL]: fc.boolean(),
  [GgufValueType.STRING]: fc.string({ unit: "grapheme", maxLength: 12 }),
};
const scalarType = fc.constantFrom(...Object.keys(scalar).map(Number) as GgufValueType[]);
const array: fc.Arbitrary<GgufArray> = fc.letrec<{ arr: GgufArray }>((tie) => ({
  arr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarType.chain((t) => fc.array(scalar[t]!, { maxLength: 6 }).map((items) => ({ elementType: t, items }))),
    fc.array(tie("arr"), { maxLength: 3 }).map((items) => ({ elementType: GgufValueType.ARRAY, items })),
  ),
})).arr;
const value: fc.Arbitrary<GgufValue> = fc.oneof(
  scalarType.chain((t) => scalar[t]!.map((v) => ({ type: t, value: v }) as GgufValue)),
  array.map((a): GgufValue => ({ type: GgufValueType.ARRAY, value: a })),
);
const tensor = fc.record({
  type: fc.constantFrom(...GGML_TYPES.keys()),
  rows: fc.integer({ min: 1, max: 3 }),
  blocks: fc.integer({ min: 1, max: 2 }),
  extra: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
  fill: fc.nat({ max: 255 }),
});

describe("fuzz: random valid specs round-trip", () => {
  it("write → read gives back the metadata and tensors; write(read(x)) is byte-identical", () => {
    const spec = fc.record({
      metadata: fc.uniqueArray(fc.tuple(fc.string({ maxLength: 10 }).filter((k) => k !== "general.alignment"), value), { maxLength: 8, selector: ([k]) => k }),
      tensors: fc.array(tensor, { maxLength: 4 }),
      alignment: fc.constantFrom(undefined, 8, 32, 64),
    });
    fc.assert(
      fc.property(spec, ({ metadata, tensors, alignment }) => {
        const ts = tensors.map((t, i) => {
          const info = GGML_TYPES.get(t.type)!;
          const dims = [info.blockSize * t.blocks, t.rows, ...t.extra];
          const n = dims.reduce((a, b) => a * b, 1);
          return { name: `t${i}`, dims, type: t.type, data: new Uint8Array((n / info.blockSize) * info.typeSize).fill(t.fill) };
        });
        const bytes = writeGguf({ metadata, tensors: ts, ...(alignment ? { alignment } : {}) });
        const f = readGguf(bytes);
        const expected = alignment && alignment !== 32 ? [...metadata, ["general.alignment", { type: GgufValueType.UINT32, value: alignment }]] : metadata;
        expect([...f.metadata]).toEqual(expected);
        expect(f.alignment).toBe(alignment ?? 32);
        expect(f.tensors.map((t) => [t.name, t.dims, t.type])).toEqual(ts.map((t) => [t.name, t.dims, t.type]));
        for (const t of ts) expect(Buffer.from(tensorData(f, t.name)).equals(Buffer.from(t.data))).toBe(true);
        const again = writeGguf({ metadata: f.metadata, tensors: f.tensors.map((t) => ({ ...t, data: tensorData(f, t) })) });
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
