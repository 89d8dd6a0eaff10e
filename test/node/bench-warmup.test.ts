import { describe, expect, it } from "vitest";
import { runsAgree, warmUntilSteady } from "../../scripts/lib/bench-warmup";

describe("runsAgree", () => {
  it("compares every phase within the tolerance", () => {
    expect(runsAgree([100, 10], [108, 10.5])).toBe(true);
    expect(runsAgree([100, 10], [100, 11.5])).toBe(false);
    expect(runsAgree([100], [125], 0.3)).toBe(true);
    expect(runsAgree([7, 13], [8, 13.5])).toBe(true); // 1 ms apart: within the default slack though over 10%
    expect(runsAgree([7, 13], [9, 13])).toBe(false);
    expect(runsAgree([7], [9], 0.1, 2)).toBe(true);
    expect(runsAgree([0, 10], [0, 10])).toBe(false); // an untimeable phase never counts as steady
    expect(() => runsAgree([1], [1, 2])).toThrow(/same/);
  });
});

describe("warmUntilSteady", () => {
  const seq = (times: number[][]) => {
    let i = 0;
    return async () => times[Math.min(i++, times.length - 1)]!;
  };
  it("stops at the first pair of agreeing runs after the minimum", async () => {
    // A tier-up curve: slow, slower-ish, then steady from the 4th run.
    const run = seq([[500, 50], [200, 20], [120, 12], [100, 10], [101, 10]]);
    expect(await warmUntilSteady(run, 1, 20)).toEqual({ runs: 5, steady: true });
  });
  it("makes at least min runs and at most max", async () => {
    expect(await warmUntilSteady(seq([[10], [10]]), 4, 20)).toEqual({ runs: 4, steady: true });
    let n = 0;
    const noisy = async () => [n++ % 2 ? 100 : 200];
    expect(await warmUntilSteady(noisy, 1, 6)).toEqual({ runs: 6, steady: false });
    expect(n).toBe(6);
  });
  it("does not take two equally slow runs (a slow phase of the machine) as steady", async () => {
    // The row of the report that motivated it: 110 → 168 → 167 ms per decode. Agreement alone stopped at run 4 and timed
    // the row slow; with the fastest seen (110) as the bar, warm-up goes on until runs are back near it.
    const run = seq([[900, 300], [300, 110], [330, 168], [331, 167], [301, 118], [300, 112], [299, 111]]);
    expect(await warmUntilSteady(run, 1, 12)).toEqual({ runs: 6, steady: true });
    // A slow phase that does not pass within max: timed anyway, reported as not steady.
    const stuck = seq([[300, 110], [330, 168], [331, 167]]);
    expect(await warmUntilSteady(stuck, 1, 8)).toEqual({ runs: 8, steady: false });
    // Within the tolerance of the fastest (or its 1 ms slack) counts: 10 → 10.9 → 10.95 agree and are near 10.
    expect(await warmUntilSteady(seq([[20], [10], [10.9], [10.95]]), 1, 12)).toEqual({ runs: 3, steady: true });
  });
  it("never counts a phase timed at or below zero as the fastest", async () => {
    // An untimeable phase (-2 ms after the round trip is subtracted) must not become the bar nor make runs steady.
    const run = seq([[-2, 50], [100, 50], [100, 50]]);
    expect(await warmUntilSteady(run, 1, 12)).toEqual({ runs: 3, steady: true });
    expect(await warmUntilSteady(seq([[0, 50]]), 1, 5)).toEqual({ runs: 5, steady: false });
  });
  it("rejects bounds that cannot compare two runs", async () => {
    await expect(warmUntilSteady(seq([[1]]), 3, 1)).rejects.toThrow(/min/);
  });
});
