// Greedy pick over a logits row in linear memory: the sampler's argmax (NaN never wins, +Inf ranks as the largest float, ties to the lowest id).

/** The largest finite f32: the sampler maps +Infinity to it (so +Inf ties with an earlier max float, lowest id wins). */
const MAX_F32: f32 = 3.4028234663852886e38;

/**
 * The index of the greatest of the n floats at `p`, as src/engine/sampler.ts picks greedily: each value is first
 * clamped to MAX_F32 (+Inf → max float, NaN stays NaN: f32x4.pmin, `maxv < v ? maxv : v`, one minps where
 * f32x4.min's NaN and ±0 rules cost V8 several instructions per vector) and a value wins only when strictly greater
 * than the best so far. A NaN compares false, so it ranks as -Infinity, and -Infinity itself never wins: -1 when no
 * value is finite. Four accumulators of four lanes each hold, per lane, the best value and its lowest index among
 * the ids that lane sees (ids rise within a lane, so strict > keeps the lowest); the reduction then takes the
 * greatest value and, among the lanes that hold it, the lowest id. The tail's ids are past every vector's, so it
 * continues the scalar scan from that pick.
 */
export function argmax_f32(p: usize, n: i32): i32 {
  const maxv = f32x4.splat(MAX_F32);
  let b0 = f32x4.splat(-Infinity), b1 = b0, b2 = b0, b3 = b0;
  let i0 = i32x4.splat(-1), i1 = i0, i2 = i0, i3 = i0;
  let x0 = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  const sixteen = i32x4.splat(16);
  const n16 = n & ~15;
  for (let i = 0; i < n16; i += 16) {
    const a = p + (<usize>i << 2);
    const v0 = f32x4.pmin(v128.load(a), maxv);
    const v1 = f32x4.pmin(v128.load(a, 16), maxv);
    const v2 = f32x4.pmin(v128.load(a, 32), maxv);
    const v3 = f32x4.pmin(v128.load(a, 48), maxv);
    const x1 = i32x4.add(x0, four);
    const x2 = i32x4.add(x1, four);
    const x3 = i32x4.add(x2, four);
    const g0 = f32x4.gt(v0, b0);
    const g1 = f32x4.gt(v1, b1);
    const g2 = f32x4.gt(v2, b2);
    const g3 = f32x4.gt(v3, b3);
    b0 = v128.bitselect(v0, b0, g0);
    b1 = v128.bitselect(v1, b1, g1);
    b2 = v128.bitselect(v2, b2, g2);
    b3 = v128.bitselect(v3, b3, g3);
    i0 = v128.bitselect(x0, i0, g0);
    i1 = v128.bitselect(x1, i1, g1);
    i2 = v128.bitselect(x2, i2, g2);
    i3 = v128.bitselect(x3, i3, g3);
    x0 = i32x4.add(x0, sixteen);
  }
  // The best value of all 16 lanes (no lane holds a NaN: only values that compared greater were taken).
  const m4 = f32x4.max(f32x4.max(b0, b1), f32x4.max(b2, b3));
  const m2 = f32x4.max(m4, i32x4.shuffle(m4, m4, 2, 3, 0, 1));
  const m1 = f32x4.max(m2, i32x4.shuffle(m2, m2, 1, 0, 3, 2));
  let bestV = f32x4.extract_lane(m1, 0);
  let best: i32 = -1;
  if (bestV > -Infinity) {
    // The lowest id among the lanes holding that value (a lane that never took a value holds -Infinity, never equal).
    const all = f32x4.splat(bestV);
    const none = i32x4.splat(i32.MAX_VALUE);
    const j0 = v128.bitselect(i0, none, f32x4.eq(b0, all));
    const j1 = v128.bitselect(i1, none, f32x4.eq(b1, all));
    const j2 = v128.bitselect(i2, none, f32x4.eq(b2, all));
    const j3 = v128.bitselect(i3, none, f32x4.eq(b3, all));
    const k4 = i32x4.min_s(i32x4.min_s(j0, j1), i32x4.min_s(j2, j3));
    const k2 = i32x4.min_s(k4, i32x4.shuffle(k4, k4, 2, 3, 0, 1));
    const k1 = i32x4.min_s(k2, i32x4.shuffle(k2, k2, 1, 0, 3, 2));
    best = i32x4.extract_lane(k1, 0);
  }
  for (let i = n16; i < n; i++) {
    const v = Mathf.min(load<f32>(p + (<usize>i << 2)), MAX_F32);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
