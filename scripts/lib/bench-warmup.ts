// Warm-up until steady: repeat a timed run until two consecutive runs agree and the last is as fast as the fastest seen,
// so a row is not timed while V8 is still tiering kernels up (workerd cannot be given V8 flags in production, so the
// bench waits for its default tiering), nor started in one of the machine's slow phases.

/**
 * Two consecutive runs agree when every phase's time is within `tolerance` (a fraction) of the other's, or within
 * `slack` (same unit: ms) where that is larger, since phases of a few ms are timed from outside to about a millisecond.
 */
export function runsAgree(a: readonly number[], b: readonly number[], tolerance = 0.1, slack = 1): boolean {
  if (a.length !== b.length || a.length === 0) throw new Error("runsAgree: runs must time the same, non-empty phases");
  return a.every((x, i) => {
    const y = b[i]!;
    return x > 0 && y > 0 && Math.abs(x - y) <= Math.max(tolerance * Math.min(x, y), slack);
  });
}

/**
 * Runs `run` (which returns each phase's time) at least `min` times, then on until the last two runs agree and the
 * last also agrees with the fastest time seen per phase (runsAgree, same tolerance), or `max` runs were made; returns
 * how many were made and whether that held at the end.
 *
 * Why the fastest: tier-up only makes runs faster, so agreement alone is the right test on a quiet machine; but this
 * host has slow phases (everything 1.5–1.8x slower for seconds to minutes), in which two equally slow runs agree too
 * (110 → 168 → 167 ms per decode) and the whole row would then be timed slow. A warm-up run can only be fast when the
 * code and the machine both were, so the fastest one seen bounds what steady means; a slow phase keeps the warm-up
 * going (at most `max` runs, the caller logs that) until it passes. A phase never timed above zero has no fastest and
 * never counts as steady.
 */
export async function warmUntilSteady(
  run: () => Promise<readonly number[]>,
  min: number,
  max: number,
  tolerance = 0.1,
): Promise<{ runs: number; steady: boolean }> {
  if (!(min >= 0 && max >= Math.max(min, 2))) throw new Error(`warmUntilSteady: need 0 ≤ min ≤ max and max ≥ 2 (min ${min}, max ${max})`);
  let prev: readonly number[] | null = null;
  let fastest: number[] | null = null;
  for (let i = 1; i <= max; i++) {
    const cur = await run();
    // Per phase, the least time above zero so far (0 while none was; runsAgree never accepts 0).
    fastest = cur.map((x, k) => {
      const f = fastest?.[k] ?? 0;
      return x > 0 && (f === 0 || x < f) ? x : f;
    });
    if (i >= Math.max(min, 2) && prev && runsAgree(prev, cur, tolerance) && runsAgree(fastest, cur, tolerance)) return { runs: i, steady: true };
    prev = cur;
  }
  return { runs: max, steady: false };
}
