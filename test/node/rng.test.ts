// Rng: xoshiro128** against the reference C implementation, seeding, and exact save/restore of its state.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Rng } from "../../src/engine/rng";

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextU32());

describe("Rng", () => {
  it("matches the reference xoshiro128** (Vigna's C code) from a given state", () => {
    // Printed by the public-domain xoshiro128starstar.c with s = {1, 2, 3, 4}.
    expect(draw(Rng.fromState({ s: [1, 2, 3, 4] }), 8)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
    // ...and with s = {0x9e3779b9, 0xdeadbeef, 0x01234567, 0xfedcba98} after 1000 draws.
    const rng = Rng.fromState({ s: [0x9e3779b9, 0xdeadbeef, 0x01234567, 0xfedcba98] });
    draw(rng, 1000);
    expect(draw(rng, 4)).toEqual([568656337, 2414004550, 3241127498, 1750682006]);
    expect(rng.state()).toEqual({ s: [3515594882, 1097657356, 3047742512, 973952369] });
  });

  it("is reproducible per seed, and different seeds (low half, high half, sign) give different streams", () => {
    expect(draw(new Rng(42), 16)).toEqual(draw(new Rng(42), 16));
    const seeds = [0, 1, 2, -1, 42, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, -(2 ** 53 - 1), 1 - 2 ** 32];
    const streams = seeds.map((s) => draw(new Rng(s), 4).join(","));
    expect(new Set(streams).size).toBe(seeds.length);
    const firsts = new Set<string>();
    for (let s = 0; s < 2000; s++) firsts.add(draw(new Rng(s), 2).join(","));
    expect(firsts.size).toBe(2000);
  });

  it("returns u32 values and floats in [0, 1) on a 2^-24 grid", () => {
    const rng = new Rng(7);
    for (let i = 0; i < 10_000; i++) {
      const u = rng.nextU32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1 && Number.isInteger(f * 2 ** 24)).toBe(true);
    }
  });

  it("nextFloat is uniform (chi-square over 32 buckets)", () => {
    const rng = new Rng(123456789);
    const buckets = new Array<number>(32).fill(0);
    const n = 320_000;
    for (let i = 0; i < n; i++) buckets[Math.floor(rng.nextFloat() * 32)]!++;
    const expected = n / 32;
    const chi2 = buckets.reduce((acc, b) => acc + (b - expected) ** 2 / expected, 0);
    // 31 degrees of freedom: P(chi2 > 70) is about 1e-4; with a fixed seed this is deterministic anyway.
    expect(chi2).toBeLessThan(70);
  });

  it("rejects seeds that are not safe integers", () => {
    for (const bad of [0.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) expect(() => new Rng(bad)).toThrow(RangeError);
  });

  it("state() is a snapshot, and fromState (also through JSON) continues the exact stream", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.nat(200), fc.integer({ min: 1, max: 50 }), (seed, before, after) => {
        const whole = new Rng(seed);
        const head = draw(whole, before);
        const rest = draw(whole, after);

        const first = new Rng(seed);
        expect(draw(first, before)).toEqual(head);
        const saved = first.state();
        const snapshot = JSON.stringify(saved);
        draw(first, 3);
        expect(JSON.stringify(saved)).toBe(snapshot);
        expect(draw(Rng.fromState(JSON.parse(snapshot)), after)).toEqual(rest);
      }),
    );
  });

  it("fromState rejects malformed states", () => {
    const bad: unknown[] = [null, {}, { s: [1, 2, 3] }, { s: [1, 2, 3, 4, 5] }, { s: [0, 0, 0, 0] }, { s: [1, 2, 3, 2 ** 32] }, { s: [1, 2, 3, -1] }, { s: [1, 2, 3, 0.5] }, { s: [1, 2, 3, "4"] }];
    for (const state of bad) expect(() => Rng.fromState(state as never)).toThrow(RangeError);
  });
});
