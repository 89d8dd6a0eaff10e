// The scale/min searches of ggml's K-quant reference quantizers, in float32 arithmetic (Math.fround on every operation).
//
// ggml-quants.c's make_qkx2_quants, make_qx_quants and make_q3_quants choose, for one sub-block, integer levels L and a
// scale (and min) by trying a few candidate scales and keeping the one with the smallest weighted error. Each C float
// operation rounds to float32, so every product, sum and quotient here is wrapped in `f` in C's evaluation order
// (left to right: `w*x*l` is (w·x)·l). That is what makes the quantized bytes equal llama.cpp's.

export const f = Math.fround;

/** ggml's GROUP_MAX_EPS: a sub-block whose largest |x| is below this quantizes to zeros. */
export const GROUP_MAX_EPS = f(1e-15);

/** ggml's nearest_int: round half to even via the 1.5·2^23 trick (for |v| ≤ 4194303, v a float32). */
export function nearestInt(v: number): number {
  return f(v + 12582912) - 12582912;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * make_qkx2_quants: levels 0..nmax with a scale and a min (Q2_K, Q4_K, Q5_K). Writes L[lo..lo+n); returns
 * [scale, -min] (ggml's the_min is the negated min, ≥ 0).
 */
export function fitScaleMin(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  w: Float32Array,
  L: Uint8Array,
  lo: number,
  aux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): [number, number] {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = w[0]!;
  let sumX = f(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    sumW = f(sumW + w[i]!);
    sumX = f(sumX + f(w[i]! * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(f(iscale * f(x[xo + i]! - min))), 0, nmax);
    L[lo + i] = l;
    let diff = f(f(f(scale * l) + min) - x[xo + i]!);
    diff = useMad ? Math.abs(diff) : f(diff * diff);
    bestError = f(bestError + f(w[i]! * diff));
  }
  if (nstep < 1) return [scale, -min];
  for (let is = 0; is <= nstep; is++) {
    // min moves when a candidate wins: later candidates start from it (as ggml's loop does).
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * f(x[xo + i]! - min))), 0, nmax);
      aux[i] = l;
      const wl = f(w[i]! * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[xo + i]!));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
    let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f(sumXL / sumL2);
    }
    let curError = 0;
    for (let i = 0; i < n; i++) {
      let diff = f(f(f(thisScale * aux[i]!) + thisMin) - x[xo + i]!);
      diff = useMad ? Math.abs(diff) : f(diff * diff);
      curError = f(curError + f(w[i]! * diff));
    }
    if (curError < bestError) {
      for (let i = 0; i < n; i++) L[lo + i] = aux[i]!;
      bestError = curError;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

/** Largest |x| of the sub-block and the signed value that has it (the first on a tie). */
function signedMax(n: number, x: Float32Array, xo: number): [number, number] {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  return [max, amax];
}

/** Σ (w·x)·l and Σ (w·l)·l with w = x² over levels l (signed, before the +nmax offset). */
function weightedSums(n: number, x: Float32Array, xo: number, level: (i: number) => number): [number, number] {
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = level(i);
    const w = f(xi * xi);
    sumlx = f(sumlx + f(f(w * xi) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  return [sumlx, suml2];
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (Q6_K): signed levels −nmax..nmax−1 stored as
 * L = l + nmax in Int8Array L[lo..), trying 18 scales around nmax/max. Returns the scale.
 */
export function fitSymmetric(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const [max, amax] = signedMax(n, x, xo);
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const levelAt = (iscale: number) => (i: number) => clamp(nearestInt(f(iscale * x[xo + i]!)), -nmax, nmax - 1);
  let iscale = f(-nmax / max);
  let level = levelAt(iscale);
  for (let i = 0; i < n; i++) L[lo + i] = level(i) + nmax;
  let [sumlx, suml2] = weightedSums(n, x, xo, level);
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    level = levelAt(iscale);
    [sumlx, suml2] = weightedSums(n, x, xo, level);
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = level(i) + nmax;
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_q3_quants with do_rmse (Q3_K): signed levels −nmax..nmax−1 refined one element at a time (up to 5 passes)
 * while the weighted fit improves; stores L = l + nmax in Int8Array L[lo..). Returns the scale.
 */
export function fitQ3(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const [max, amax] = signedMax(n, x, xo);
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = f(-nmax / max);
  for (let i = 0; i < n; i++) L[lo + i] = clamp(nearestInt(f(iscale * x[xo + i]!)), -nmax, nmax - 1);
  let [sumlx, suml2] = weightedSums(n, x, xo, (i) => L[lo + i]!);
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const w = f(xi * xi);
      const li = L[lo + i]!;
      let slx = f(sumlx - f(f(w * xi) * li));
      if (!(slx > 0)) continue;
      let sl2 = f(suml2 - f(f(w * li) * li));
      const newL = clamp(nearestInt(f(f(xi * sl2) / slx)), -nmax, nmax - 1);
      if (newL === li) continue;
      slx = f(slx + f(f(w * xi) * newL));
      sl2 = f(sl2 + f(f(w * newL) * newL));
      if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
        L[lo + i] = newL;
        sumlx = slx;
        suml2 = sl2;
        changed++;
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = L[lo + i]! + nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}
