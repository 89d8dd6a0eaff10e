// Reference quantizers: byte-identical to llama.cpp's output on real files, plus rounding rules and error bounds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GgmlType, ggmlTypeName, readGguf, tensorData, type GgufFile } from "../../src/gguf/index";
import { dequantize, f16ToF32, quantize, quantizeBF16, quantizeF16, quantizeQ4_0, quantizeQ4_1, quantizeQ4_K, quantizeQ5_0, quantizeQ5_1, quantizeQ5_K, quantizeQ6_K, quantizeQ8_0 } from "../../src/quant/index";
import { KQUANT_MODELS, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";

const load = (name: string): GgufFile => readGguf(readModelFile(name));
const f32Of = (f: GgufFile, name: string): Float32Array => {
  const t = f.tensorByName.get(name)!;
  expect(t.type).toBe(GgmlType.F32);
  return dequantize(GgmlType.F32, tensorData(f, t), t.nElements);
};
const ENCODE: Partial<Record<number, (x: Float32Array) => Uint8Array>> = {
  [GgmlType.Q8_0]: quantizeQ8_0,
  [GgmlType.Q4_0]: quantizeQ4_0,
  [GgmlType.F16]: quantizeF16,
  [GgmlType.BF16]: quantizeBF16,
  [GgmlType.Q4_1]: quantizeQ4_1,
  [GgmlType.Q5_0]: quantizeQ5_0,
  [GgmlType.Q5_1]: quantizeQ5_1,
  [GgmlType.Q4_K]: quantizeQ4_K,
  [GgmlType.Q5_K]: quantizeQ5_K,
  [GgmlType.Q6_K]: quantizeQ6_K,
};

/** Re-encodes every non-F32 tensor of `quantized` from the F32 master; returns "name:TYPE" per tensor checked. */
function reencodeAll(master: GgufFile, quantized: GgufFile): string[] {
  const checked: string[] = [];
  for (const t of quantized.tensors) {
    if (t.type === GgmlType.F32) continue;
    const enc = ENCODE[t.type];
    if (!enc) throw new Error(`no encoder for ${ggmlTypeName(t.type)}`);
    const mine = enc(f32Of(master, t.name));
    const theirs = tensorData(quantized, t);
    expect(mine.length, t.name).toBe(theirs.length);
    let firstDiff = -1;
    for (let i = 0; i < mine.length && firstDiff < 0; i++) if (mine[i] !== theirs[i]) firstDiff = i;
    expect(firstDiff, `${t.name} (${ggmlTypeName(t.type)}) first differing byte`).toBe(-1);
    checked.push(`${t.name}:${ggmlTypeName(t.type)}`);
  }
  return checked;
}

const count = (list: string[], type: string) => list.filter((s) => s.endsWith(`:${type}`)).length;

describe("byte-identical to llama.cpp's llama_model_quantize", () => {
  const stories = load("stories260K.gguf");
  // The kquant-gqa oracle set is a larger fixture set: its tests run where the model directory has it.
  const kqSet = optionalFixtures(KQUANT_MODELS);
  const kq = kqSet.available ? load("oracle/kquant-gqa-F32.gguf") : undefined;

  it("stories260K-Q8_0: 32 Q8_0 tensors and the 5 F16 ffn_down fallbacks", () => {
    const checked = reencodeAll(stories, load("stories260K-Q8_0.gguf"));
    expect([count(checked, "Q8_0"), count(checked, "F16")]).toEqual([32, 5]);
    expect(checked.filter((s) => s.endsWith(":F16")).every((s) => s.includes("ffn_down"))).toBe(true);
  });

  it("stories260K-Q4_0: 31 Q4_0 tensors, output.weight as Q8_0, 5 F16 fallbacks", () => {
    const checked = reencodeAll(stories, load("stories260K-Q4_0.gguf"));
    expect([count(checked, "Q4_0"), count(checked, "Q8_0"), count(checked, "F16")]).toEqual([31, 1, 5]);
    expect(checked).toContain("output.weight:Q8_0");
  });

  it.skipIf(!kq).each(["Q8_0", "Q4_0", "F16", "BF16", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"])("oracle kquant-gqa-%s: all 16 matrices", (type) => {
    const checked = reencodeAll(kq!, load(`oracle/kquant-gqa-${type}.gguf`));
    expect(count(checked, type)).toBe(16);
  });
});

const F16_REL = 2 ** -11; // relative rounding error of a normal f16 (half an ulp)

/** Max over blocks of |x − x̂| / |d|, where x̂ = dequant(quant(x)) and d the block's stored scale. */
function blockErrors(x: Float32Array, bytes: Uint8Array, type: GgmlType.Q8_0 | GgmlType.Q4_0) {
  const size = type === GgmlType.Q8_0 ? 34 : 18;
  const y = dequantize(type, bytes, x.length);
  let worst = 0; // unclamped elements
  let worstClamped = 0; // Q4_0 elements stored as 15 (x·id ≥ 7.5)
  for (let b = 0; b * 32 < x.length; b++) {
    const d = Math.abs(f16ToF32(bytes[b * size]! | (bytes[b * size + 1]! << 8)));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      const e = Math.abs(x[i]! - y[i]!);
      if (d === 0) {
        if (e !== Math.abs(x[i]!) || x[i] !== 0) return { worst: Infinity, worstClamped: Infinity };
        continue;
      }
      const q = type === GgmlType.Q4_0 ? (bytes[b * size + 2 + (j & 15)]! >> (j < 16 ? 0 : 4)) & 15 : 0;
      if (type === GgmlType.Q4_0 && q === 15) worstClamped = Math.max(worstClamped, e / d);
      else worst = Math.max(worst, e / d);
    }
  }
  return { worst, worstClamped };
}

// Values are 0 or 1e-2 ≤ |x| ≤ 1e3, so any block with a nonzero value has amax ≥ 1e-2 and a scale d ≥ 1e-2/127 > 2^-14:
// a normal f16, whose relative rounding error is at most 2^-11 (the argument behind both bounds below).
const values = fc.oneof(
  fc.constant(0),
  fc.float({ min: Math.fround(1e-2), max: 1e3, noNaN: true }),
  fc.float({ min: -1e3, max: Math.fround(-1e-2), noNaN: true }),
);
const blocks = fc.integer({ min: 1, max: 6 }).chain((k) => fc.array(values, { minLength: 32 * k, maxLength: 32 * k }));

describe("Q8_0 quantizer", () => {
  it("dequant(quant(x)) is within |d|·(1/2 + 127·2^-11) per block (rounding + the f16 scale's error times |q| ≤ 127)", () => {
    fc.assert(
      fc.property(blocks, (arr) => {
        const x = new Float32Array(arr);
        const { worst } = blockErrors(x, quantizeQ8_0(x), GgmlType.Q8_0);
        return worst <= 0.5 + 127 * F16_REL + 1e-6;
      }),
      { numRuns: 300 },
    );
  });

  it("rounds half away from zero (C roundf) and maps ±amax to ±127", () => {
    const x = new Float32Array(32);
    x.set([127, 2.5, -2.5, 0.5, -0.5, 1.49, -127]);
    const b = quantizeQ8_0(x);
    expect(f16ToF32(b[0]! | (b[1]! << 8))).toBe(1); // d = 127/127
    expect(Array.from(new Int8Array(b.buffer, 2, 7))).toEqual([127, 3, -3, 1, -1, 1, -127]);
  });

  it("an all-zero block has d = 0 and q = 0", () => {
    expect(Array.from(quantizeQ8_0(new Float32Array(64)))).toEqual(new Array(68).fill(0));
  });
});

describe("Q4_0 quantizer", () => {
  it("error ≤ |d|·(1/2 + 8·2^-11), or ≤ |d|·(1 + 8·2^-11) for values clamped to 15", () => {
    fc.assert(
      fc.property(blocks, (arr) => {
        const x = new Float32Array(arr);
        const { worst, worstClamped } = blockErrors(x, quantizeQ4_0(x), GgmlType.Q4_0);
        return worst <= 0.5 + 8 * F16_REL + 1e-6 && worstClamped <= 1 + 8 * F16_REL + 1e-6;
      }),
      { numRuns: 300 },
    );
  });

  it("d = max/−8 from the first value of largest magnitude; q = min(15, trunc(x/d + 8.5)); nibble order j | j+16", () => {
    const x = new Float32Array(32);
    x.set([-8, 8, -0.5, 0.5, 7.5, -7.6, 3.49]); // max is −8 (the first of ±8), so d = 1
    x[16] = 2;
    x[17] = -3;
    const b = quantizeQ4_0(x);
    expect(f16ToF32(b[0]! | (b[1]! << 8))).toBe(1);
    const lo = (j: number) => b[2 + j]! & 15;
    const hi = (j: number) => b[2 + j]! >> 4;
    expect([0, 1, 2, 3, 4, 5, 6].map(lo)).toEqual([0, 15, 8, 9, 15, 0, 11]);
    expect([hi(0), hi(1), hi(2)]).toEqual([10, 5, 8]);
    x[0] = 8;
    x[1] = -8; // now the first of ±8 is +8: d = −1
    expect(f16ToF32(quantizeQ4_0(x)[0]! | (quantizeQ4_0(x)[1]! << 8))).toBe(-1);
  });

  it("an all-zero block stores d = −0 (C's 0.0f / −8) and every nibble 8", () => {
    const b = quantizeQ4_0(new Float32Array(32));
    expect(Array.from(b)).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
    expect(dequantize(GgmlType.Q4_0, b, 32).every((v) => v === 0)).toBe(true); // −0·0: negative zeros, as in C
  });
});

describe("quantize dispatch", () => {
  it("F32 copies, F16/BF16 round, Q8_0/Q4_0 quantize", () => {
    const x = new Float32Array([1, -2.5, 1 / 3, 65536, ...new Array(28).fill(0.1)]);
    expect(Array.from(dequantize(GgmlType.F32, quantize(GgmlType.F32, x), 32))).toEqual(Array.from(x));
    const h = dequantize(GgmlType.F16, quantize(GgmlType.F16, x), 32);
    expect([h[0], h[1], h[3]]).toEqual([1, -2.5, Infinity]);
    expect(h[2]).toBe(0.333251953125); // 1/3 to the nearest half
    expect(dequantize(GgmlType.BF16, quantize(GgmlType.BF16, x), 32)[2]).toBe(0.333984375);
    expect(quantize(GgmlType.Q8_0, x)).toEqual(quantizeQ8_0(x));
    expect(quantize(GgmlType.Q4_0, x)).toEqual(quantizeQ4_0(x));
  });

  it("refuses other types and partial blocks", () => {
    expect(() => quantize(GgmlType.Q8_1, new Float32Array(256))).toThrow("cannot quantize to Q8_1: unsupported type");
    expect(() => quantize(GgmlType.Q4_K, new Float32Array(288))).toThrow(/288 values to Q4_K: not a multiple of the super-block size 256/);
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/33 values to Q8_0: not a multiple of the block size 32/);
    expect(() => quantizeQ4_0(new Float32Array(48))).toThrow(/Q4_0/);
  });
});
