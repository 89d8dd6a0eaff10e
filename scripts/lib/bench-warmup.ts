// Warm-up until steady: repeat a timed run until two consecutive runs agree, so a row is not timed while V8 is still
// tiering kernels up (workerd cannot be given V8 flags in production, so the bench waits for its default tiering).

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
 * Runs `run` (which returns each phase's time) at least `min` times, then on until the last two runs agree or `max`
 * runs were made; returns how many were made and whether the last two agreed.
 */
export async function warmUntilSteady(
  run: () => Promise<readonly number[]>,
  min: number,
  max: number,
  tolerance = 0.1,
): Promise<{ runs: number; steady: boolean }> {
  if (!(min >= 0 && max >= Math.max(min, 2))) throw new Error(`warmUntilSteady: need 0 ≤ min ≤ max and max ≥ 2 (min ${min}, max ${max})`);
  let prev: readonly number[] | null = null;
  for (let i = 1; i <= max; i++) {
    const cur = await run();
    if (i >= Math.max(min, 2) && prev && runsAgree(prev, cur, tolerance)) return { runs: i, steady: true };
    prev = cur;
  }
  return { runs: max, steady: false };
}
