// glibc's sinf/cosf emulation (the rope angles of ggml's CPU build) against values glibc 2.36 (x86-64, FMA variant) returned.
import { describe, expect, it } from "vitest";
import { cosfGlibc, fma64, sincosfGlibcExact, sinfGlibc } from "../../src/backends/glibc-sincosf";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => ((u32[0] = b), f32[0]!);
const bits = (v: number) => ((f32[0] = v), u32[0]!);

// [x, sinf(x), cosf(x)] as float bits, printed by a C program calling glibc on an AMD EPYC (zen4): the positions where
// the correctly rounded result differs (34, 96, 98, …), both reduction paths (|x| < 120 and above), the small-|x|
// polynomial and the tiny-|x| shortcuts, negative inputs.
const GLIBC: [number, number, number][] = [
  [0x42080000, 0x3f0771f6, 0xbf593be7], // 34
  [0x42c00000, 0x3f7bcc68, 0xbe38c2c3], // 96
  [0x42c40000, 0xbf12c927, 0xbf51bce0], // 98
  [0x43030000, 0xbf4fc53d, 0x3f158eb5], // 131
  [0x43410000, 0xbf7a7c21, 0xbe536859], // 193
  [0x43430000, 0x3e60b8ba, 0x3f79c269], // 195
  [0x43870000, 0xbe344564, 0x3f7c0075], // 270
  [0x43ab8000, 0xbf095e82, 0xbf5805c1], // 343
  [0x43b38000, 0x3f41bf19, 0x3f2753b2], // 359
  [0x43de0000, 0xbf5c2e84, 0xbf029943], // 444
  [0x3f000000, 0x3ef57744, 0x3f60a940], // 0.5
  [0x3f333333, 0x3f24eb73, 0x3f43ccb3], // 0.7
  [0x3727c5ac, 0x3727c5ac, 0x3f800000], // 1e-5
  [0xc2c40000, 0x3f12c927, 0xbf51bce0], // -98
  [0x40200000, 0x3f193578, 0xbf4d17bf], // 2.5
  [0xc0e80000, 0xbf52b56e, 0x3f11637b], // -7.25
  [0x42ef0000, 0x3df41c90, 0x3f7e2cc9], // 119.5
  [0x42f00000, 0x3f14a2ef, 0x3f506e2a], // 120
  [0x447a1000, 0x3f70b812, 0x3eae3eca], // 1000.25
  [0x4640e6b6, 0xbf344b08, 0x3f35be20], // 12345.678
  [0x4a371b00, 0xbf60e4b9, 0x3ef49d0a], // 3e6
  [0xb99d4952, 0xb99d4952, 0x3f7fffff], // -0.0003
];

describe("glibc sinf/cosf emulation", () => {
  it.each(GLIBC)("x = %#x: the float glibc returns", (x, s, c) => {
    expect(bits(sinfGlibc(fromBits(x)))).toBe(s);
    expect(bits(cosfGlibc(fromBits(x)))).toBe(c);
    expect(sincosfGlibcExact(fromBits(x)).map(bits)).toEqual([s, c]); // the emulation without the double shortcut
  });

  it("the double-precision shortcut and the full emulation agree on every angle of a long rope table", () => {
    // ggml's angles for positions 0..4095, 64 pairs, base 10000: θ = p·(10000^(−1/64))^i in f32, as rope-table.ts.
    const scale = Math.fround(Math.pow(10000, Math.fround(-2 / 128)));
    let differ = 0;
    for (let p = 0; p < 4096; p++) {
      let theta = Math.fround(p);
      for (let i = 0; i < 64; i++, theta = Math.fround(theta * scale)) {
        const [s, c] = sincosfGlibcExact(theta);
        if (sinfGlibc(theta) !== s || cosfGlibc(theta) !== c) differ++;
      }
    }
    expect(differ).toBe(0);
  });

  it("differs from the correctly rounded f32 where glibc does (why rope cannot use Math.sin/Math.cos)", () => {
    const misses = GLIBC.filter(([x, s, c]) => bits(Math.sin(fromBits(x))) !== s || bits(Math.cos(fromBits(x))) !== c).length;
    expect(misses).toBeGreaterThanOrEqual(10); // 34 … 444 in the table
  });

  it("fma64 rounds once where a·b then + c rounds twice", () => {
    const a = 1 + 2 ** -30; // a² = 1 + 2^-29 + 2^-60: the 2^-60 is lost when a·b is rounded to a double
    expect(a * a - 1).toBe(2 ** -29);
    expect(fma64(a, a, -1)).toBe(2 ** -29 + 2 ** -60);
    // 2^24 + a² lies 2^-60 above the midpoint of two doubles (ulp 2^-28 there): fused it rounds up, unfused it ties to even.
    expect(a * a + 2 ** 24).toBe(2 ** 24 + 1);
    expect(fma64(a, a, 2 ** 24)).toBe(2 ** 24 + 1 + 2 ** -28);
  });
});
