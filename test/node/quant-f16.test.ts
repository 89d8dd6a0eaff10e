// f16/bf16 conversions: exhaustive over all 65536 halves, every rounding tie, and random float32s vs a brute-force reference.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { F16_TO_F32, bf16ToF32, f16ToF32, f32BitsToF16, f32ToBf16, f32ToF16 } from "../../src/quant/index";

const view = new DataView(new ArrayBuffer(4));
const bitsOf = (x: number): number => (view.setFloat32(0, x), view.getUint32(0));
const fromBits = (u: number): number => (view.setUint32(0, u >>> 0), view.getFloat32(0));
const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

/** The IEEE value of a half, from the textbook formula (independent of the module's table). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Brute-force nearest half (ties to the even pattern) by binary search over the 31744 finite non-negative halves. */
function refF32ToF16(x: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // halfway between 65504 and 2^16 ties to the even pattern, i.e. Inf
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (halfValue(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0x7bff) return sign | lo;
  const below = a - halfValue(lo);
  const above = halfValue(lo + 1) - a;
  const h = below < above ? lo : below > above ? lo + 1 : lo & 1 ? lo + 1 : lo;
  return sign | h;
}

describe("f16 -> f32", () => {
  it("the table matches the IEEE formula for all 65536 halves", () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h);
      const got = f16ToF32(h);
      if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want)) bad++;
      if (!Object.is(F16_TO_F32[h], got)) bad++;
    }
    expect(bad).toBe(0);
  });

  it("known values", () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });
});

describe("f32 -> f16 (round to nearest even)", () => {
  it("round-trips every non-NaN half exactly (all 65536 patterns, both zeros and infinities included)", () => {
    let bad = 0;
    let checked = 0;
    for (let h = 0; h < 65536; h++) {
      if (isNaNHalf(h)) continue;
      checked++;
      if (f32ToF16(f16ToF32(h)) !== h) bad++;
    }
    expect(checked).toBe(65536 - 2 * 1023);
    expect(bad).toBe(0);
  });

  it("every tie between adjacent halves goes to the even one, and one float32 ulp either side decides", () => {
    let bad = 0;
    for (let h = 0; h < 0x7bff; h++) {
      for (const sign of [0, 0x8000]) {
        const lo = halfValue(h);
        const mid = (lo + halfValue(h + 1)) / 2; // exact in float32 (12 significant bits)
        const m = sign ? -mid : mid;
        if (Math.fround(m) !== m) bad++;
        const even = h & 1 ? h + 1 : h;
        if (f32ToF16(m) !== (sign | even)) bad++;
        const mb = bitsOf(m);
        if (f32BitsToF16(mb + 1) !== (sign | (h + 1))) bad++; // magnitude just above the tie
        if (mid > 0 && f32BitsToF16(mb - 1) !== (sign | h)) bad++; // just below
      }
    }
    expect(bad).toBe(0);
  });

  it("edge cases: overflow, subnormals, underflow, signed zero, NaN", () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.996)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // tie with 2^16 rounds to even = Inf
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(-1e6)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal: even = 0
    expect(f32ToF16(fromBits(bitsOf(2 ** -25) + 1))).toBe(0x0001);
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 ulps: even = 2
    expect(f32ToF16(2 ** -26)).toBe(0);
    expect(f32ToF16(-(2 ** -30))).toBe(0x8000);
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal + half ulp rounds up into the normals
    expect(f32ToF16(0)).toBe(0);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(fromBits(0x3f800000 + 0x1000))).toBe(0x3c00); // 1 + 2^-11 ties to 1.0
    expect(f32ToF16(fromBits(0x3f800000 + 0x3000))).toBe(0x3c02); // 1 + 3·2^-11 ties up to even
    expect(isNaNHalf(f32ToF16(NaN))).toBe(true);
    expect(isNaNHalf(f32BitsToF16(0x7f800001))).toBe(true); // signalling NaN with a low payload stays NaN
  });

  it("random float32 bit patterns agree with a brute-force nearest-even search", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
        const x = fromBits(u);
        if (Number.isNaN(x)) return isNaNHalf(f32BitsToF16(u));
        return f32BitsToF16(u) === refF32ToF16(x) && f32ToF16(x) === refF32ToF16(x);
      }),
      { numRuns: 20000 },
    );
  });

  it("treats a JS double as the float32 it rounds to", () => {
    const d = 1 + 2 ** -11 + 2 ** -40; // as a double this is above the tie; as float32 it is exactly the tie
    expect(Math.fround(d)).toBe(1 + 2 ** -11);
    expect(f32ToF16(d)).toBe(0x3c00);
  });
});

describe("bf16", () => {
  it("bf16ToF32 is the float32 with those top 16 bits, for every pattern", () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = fromBits(h << 16);
      const got = bf16ToF32(h);
      if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want)) bad++;
    }
    expect(bad).toBe(0);
  });

  it("f32ToBf16 rounds to nearest even and keeps NaN a NaN", () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(fromBits(0x3f808000))).toBe(0x3f80); // tie, even below
    expect(f32ToBf16(fromBits(0x3f818000))).toBe(0x3f82); // tie, even above
    expect(f32ToBf16(fromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16(fromBits(0x7f7fffff))).toBe(0x7f80); // max float rounds to Inf
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    const nan = f32ToBf16(fromBits(0x7f800001));
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7f80) === 0x7f80 && (h & 0x7f)) continue;
      if (f32ToBf16(bf16ToF32(h)) !== h) throw new Error(`bf16 ${h} does not round-trip`);
    }
  });
});
