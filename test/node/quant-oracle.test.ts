// Dequantization vs the F32 masters: every tensor of every llama.cpp-made file lands within its type's error bound.
//
// Bounds (e = |x − x̂| per element, x the F32 master, x̂ our dequantization of llama.cpp's bytes; u = 2^-11 is the
// relative error of a normal f16, and d, m are the block's stored f16 scale and min):
// - F32 exact; F16/BF16: x̂ is exactly x rounded to f16/bf16 (nearest even).
// - Q8_0: e ≤ |d|·(1/2 + 127u): round-to-nearest against the float32 scale, plus |q| ≤ 127 times the scale's f16 error.
// - Q4_0 / Q5_0: e ≤ |d|·(1/2 + 8u) / |d|·(1/2 + 16u), except values stored at the top code (15 / 31): the scale is
//   max/−8 (max/−16), so a value of the opposite sign near |max| is clamped one step short: e ≤ |d|·(1 + 8u / 16u).
// - Q4_1 / Q5_1: e ≤ |d|/2 + (15|d| + |m|)·u / (31|d| + |m|)·u: rounding, the f16 error of d times q, of m.
// - K-quants (Q4_K, Q5_K per 32 values; Q6_K per 16): after its scale search, ggml's final pass codes each value as the
//   nearest point of the sub-block's grid, step·q + offset (step = f16 d × 6-bit/int8 scale, offset = −dmin × 6-bit
//   min, q in [0,15], [0,31] or [−32,31]), read here from the raw bytes. So every decoded value must be that nearest
//   grid point: e ≤ step/2 inside the grid's range; values beyond it were clamped (the scale search trades range for
//   precision) and are held to 2 steps.
// Relative RMS error per type is also bounded, as a coarse net (a layout bug gives errors of order 1).
import { describe, expect, it } from "vitest";
import { GGML_TYPES, GgmlType, ggmlTypeName, readGguf, tensorData, type GgufFile } from "../../src/gguf/index";
import { bf16ToF32, dequantize, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/quant/index";
import { KQUANT_MODELS, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";

const U = 2 ** -11;
const SLACK = 1 + 1e-5; // float32 arithmetic inside the quantizer
const load = (name: string): GgufFile => readGguf(readModelFile(name));
const values = (f: GgufFile, name: string) => {
  const t = f.tensorByName.get(name)!;
  return dequantize(t.type, tensorData(f, t), t.nElements);
};
const half = (b: Uint8Array, p: number) => f16ToF32(b[p]! | (b[p + 1]! << 8));

/** Max RMS error relative to the master's RMS, per type (measured: Q8_0 .0054, Q4_0 .086, Q4_1 .078, Q5_0 .043, Q5_1 .038, Q4_K .071, Q5_K .036, Q6_K .018). */
const REL_RMS: Partial<Record<number, number>> = {
  [GgmlType.Q8_0]: 0.01,
  [GgmlType.Q4_0]: 0.1,
  [GgmlType.Q4_1]: 0.1,
  [GgmlType.Q5_0]: 0.05,
  [GgmlType.Q5_1]: 0.05,
  [GgmlType.Q4_K]: 0.1,
  [GgmlType.Q5_K]: 0.05,
  [GgmlType.Q6_K]: 0.025,
};

/** Legacy 32-blocks: returns the worst e / bound over the tensor (≤ 1 passes). */
function legacyWorst(type: number, x: Float32Array, y: Float32Array, raw: Uint8Array): number {
  const size = GGML_TYPES.get(type)!.typeSize;
  let worst = 0;
  for (let b = 0; b * 32 < x.length; b++) {
    const p = b * size;
    const d = Math.abs(half(raw, p));
    const m = Math.abs(half(raw, p + 2));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      const e = Math.abs(x[i]! - y[i]!);
      let bound: number;
      if (type === GgmlType.Q8_0) bound = d * (0.5 + 127 * U);
      else if (type === GgmlType.Q4_1) bound = d / 2 + (15 * d + m) * U;
      else if (type === GgmlType.Q5_1) bound = d / 2 + (31 * d + m) * U;
      else {
        const five = type === GgmlType.Q5_0;
        const qs = p + (five ? 6 : 2);
        let q = (raw[qs + (j & 15)]! >> (j < 16 ? 0 : 4)) & 15;
        if (five) q |= ((raw[p + 2 + (j >> 3)]! >> (j & 7)) & 1) << 4;
        const top = five ? 31 : 15;
        bound = d * ((q === top ? 1 : 0.5) + (five ? 16 : 8) * U);
      }
      worst = Math.max(worst, e / (bound * SLACK + 1e-30));
    }
  }
  return worst;
}

/** The grid of one K-quant sub-block, read from the raw bytes: value(q) = step·q + offset for q in [qmin, qmax]. */
function kGrid(type: number, raw: Uint8Array, sub: number) {
  if (type === GgmlType.Q6_K) {
    const p = (sub >> 4) * 210;
    const sc = (raw[p + 192 + (sub & 15)]! << 24) >> 24;
    return { step: half(raw, p + 208) * sc, offset: 0, qmin: -32, qmax: 31 };
  }
  const five = type === GgmlType.Q5_K;
  const p = (sub >> 3) * (five ? 176 : 144);
  const j = sub & 7;
  const s = (k: number) => raw[p + 4 + k]!;
  const sc = j < 4 ? s(j) & 63 : (s(j + 4) & 15) | ((s(j - 4) >> 6) << 4);
  const mn = j < 4 ? s(j + 4) & 63 : (s(j + 4) >> 4) | ((s(j) >> 6) << 4);
  return { step: half(raw, p) * sc, offset: -half(raw, p + 2) * mn, qmin: 0, qmax: five ? 31 : 15 };
}

/**
 * K-quants: each decoded value must be the grid point nearest to the master value (ggml's final pass picks exactly that
 * code). Returns the worst violation ratio (≤ 1 passes), the worst error within the grid's range in half steps, and
 * the worst clamped (beyond the range) error in steps.
 */
function kquantWorst(type: number, x: Float32Array, y: Float32Array, raw: Uint8Array) {
  const n = type === GgmlType.Q6_K ? 16 : 32;
  let nearest = 0;
  let interior = 0;
  let edge = 0;
  for (let b = 0; b < x.length; b += n) {
    const { step, offset, qmin, qmax } = kGrid(type, raw, b / n);
    const a = Math.abs(step);
    const lo = Math.min(step * qmin, step * qmax) + offset;
    const hi = Math.max(step * qmin, step * qmax) + offset;
    for (let i = b; i < b + n; i++) {
      const xi = x[i]!;
      const q = step === 0 ? qmin : Math.min(qmax, Math.max(qmin, Math.round((xi - offset) / step)));
      let best = Infinity;
      for (let k = Math.max(qmin, q - 1); k <= Math.min(qmax, q + 1); k++) best = Math.min(best, Math.abs(xi - (step * k + offset)));
      const e = Math.abs(xi - y[i]!);
      nearest = Math.max(nearest, e / (best * SLACK + 1e-12 * a + 1e-30));
      if (a === 0) continue;
      if (xi < lo || xi > hi) edge = Math.max(edge, e / a);
      else interior = Math.max(interior, e / (a / 2));
    }
  }
  return { nearest, interior, edge };
}

const FILES: [string, string][] = [
  ["stories260K.gguf", "stories260K-Q8_0.gguf"],
  ["stories260K.gguf", "stories260K-Q4_0.gguf"],
  // The kquant-gqa oracle set is a larger fixture set: compared where the model directory has it.
  ...(optionalFixtures(KQUANT_MODELS).available ? KQUANT_MODELS.map((f): [string, string] => ["oracle/kquant-gqa-F32.gguf", f]) : []),
];

describe.each(FILES)("%s vs %s", (masterName, fileName) => {
  it("every tensor dequantizes within its type's bound", () => {
    const master = load(masterName);
    const file = load(fileName);
    expect(file.tensors.map((t) => t.name).sort()).toEqual(master.tensors.map((t) => t.name).sort());
    const rms = new Map<number, { se: number; sx: number }>();
    for (const t of file.tensors) {
      const x = values(master, t.name);
      const y = values(file, t.name);
      const raw = tensorData(file, t);
      const what = `${t.name} (${ggmlTypeName(t.type)})`;
      expect(y.length, what).toBe(x.length);
      if (t.type === GgmlType.F32 || t.type === GgmlType.F16 || t.type === GgmlType.BF16) {
        const round = t.type === GgmlType.F16 ? (v: number) => f16ToF32(f32ToF16(v)) : t.type === GgmlType.BF16 ? (v: number) => bf16ToF32(f32ToBf16(v)) : (v: number) => v;
        let bad = 0;
        for (let i = 0; i < x.length; i++) if (y[i] !== round(x[i]!)) bad++;
        expect(bad, what).toBe(0);
        continue;
      }
      const s = rms.get(t.type) ?? { se: 0, sx: 0 };
      for (let i = 0; i < x.length; i++) {
        s.se += (x[i]! - y[i]!) ** 2;
        s.sx += x[i]! ** 2;
      }
      rms.set(t.type, s);
      if (GGML_TYPES.get(t.type)!.blockSize === 32) {
        expect(legacyWorst(t.type, x, y, raw), what).toBeLessThanOrEqual(1);
      } else {
        const { nearest, interior, edge } = kquantWorst(t.type, x, y, raw);
        expect(nearest, `${what}: error / distance to the nearest grid point`).toBeLessThanOrEqual(1);
        expect(interior, `${what}: in-range error / half step`).toBeLessThanOrEqual(SLACK);
        expect(edge, `${what}: clamped error / step`).toBeLessThanOrEqual(2);
      }
    }
    for (const [type, s] of rms) {
      expect(Math.sqrt(s.se / s.sx), `relative RMS error of ${ggmlTypeName(type)}`).toBeLessThanOrEqual(REL_RMS[type]!);
    }
  });
});
