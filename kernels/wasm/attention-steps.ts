// The steps of one KV head group's attention, shared by the f32 and typed caches: q·k scores, softmax weights, weighted value sums.
import { expf4, f16Round, hsum, madd, transposeAdd } from "./common";

/**
 * dot4 of two query heads (at a and a + ah) with the same four keys, stored scaled at out and out + oh: each key vector
 * loaded once for both, eight independent accumulator chains. Each head's sums are dot4's, in its order.
 */
@inline export function dot4x2(out: usize, oh: usize, a: usize, ah: usize, b: usize, stride: usize, n: i32, scale: v128): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
  for (let d = 0; d < n; d += 4) {
    const o = <usize>d << 2;
    const k0 = v128.load(b + o), k1 = v128.load(b + stride + o), k2 = v128.load(b + 2 * stride + o), k3 = v128.load(b + 3 * stride + o);
    const x = v128.load(a + o), y = v128.load(a + ah + o);
    a0 = madd(x, k0, a0);
    a1 = madd(x, k1, a1);
    a2 = madd(x, k2, a2);
    a3 = madd(x, k3, a3);
    c0 = madd(y, k0, c0);
    c1 = madd(y, k1, c1);
    c2 = madd(y, k2, c2);
    c3 = madd(y, k3, c3);
  }
  v128.store(out, f32x4.mul(transposeAdd(a0, a1, a2, a3), scale));
  v128.store(out + oh, f32x4.mul(transposeAdd(c0, c1, c2, c3), scale));
}

/**
 * o_j[0..n) = Σ_p w_j[p] v[p] for the group's heads j (outputs oh bytes apart, weights wr bytes apart) over nPos value
 * rows at vp, vp + stride, ... (with `more`, added to the sums already at o: a later run of positions, the same
 * chain of adds per output as one call over all of them). Sixteen dims at a time in four registers, so an output is written once instead of read
 * and written per position; the heads take turns on each 16-dim slice of the rows, which stays in L1 meanwhile.
 */
@inline export function weightedSum(o: usize, oh: usize, w: usize, wr: usize, group: i32, vp: usize, stride: usize, nPos: i32, n: i32, more: bool = false): void {
  let d = 0;
  for (; d + 16 <= n; d += 16) {
    const od = <usize>d << 2;
    let j = 0;
    // Two heads at a time: each 16-dim slice of a value row loaded once for both, eight independent accumulator chains.
    for (; j + 2 <= group; j += 2) {
      const wj = w + <usize>j * wr;
      const oj = o + <usize>j * oh + od;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      if (more) {
        a0 = v128.load(oj);
        a1 = v128.load(oj, 16);
        a2 = v128.load(oj, 32);
        a3 = v128.load(oj, 48);
        b0 = v128.load(oj + oh);
        b1 = v128.load(oj + oh, 16);
        b2 = v128.load(oj + oh, 32);
        b3 = v128.load(oj + oh, 48);
      }
      let v = vp + od;
      for (let p = 0; p < nPos; p++) {
        const x0 = v128.load(v), x1 = v128.load(v, 16), x2 = v128.load(v, 32), x3 = v128.load(v, 48);
        const s = v128.load32_splat(wj + (<usize>p << 2)), t = v128.load32_splat(wj + wr + (<usize>p << 2));
        a0 = madd(s, x0, a0);
        a1 = madd(s, x1, a1);
        a2 = madd(s, x2, a2);
        a3 = madd(s, x3, a3);
        b0 = madd(t, x0, b0);
        b1 = madd(t, x1, b1);
        b2 = madd(t, x2, b2);
        b3 = madd(t, x3, b3);
        v += stride;
      }
      v128.store(oj, a0);
      v128.store(oj, a1, 16);
      v128.store(oj, a2, 32);
      v128.store(oj, a3, 48);
      v128.store(oj + oh, b0);
      v128.store(oj + oh, b1, 16);
      v128.store(oj + oh, b2, 32);
      v128.store(oj + oh, b3, 48);
    }
    for (; j < group; j++) {
      const wj = w + <usize>j * wr;
      const oj = o + <usize>j * oh + od;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      if (more) {
        a0 = v128.load(oj);
        a1 = v128.load(oj, 16);
        a2 = v128.load(oj, 32);
        a3 = v128.load(oj, 48);
      }
      let v = vp + od;
      for (let p = 0; p < nPos; p++) {
        const s = v128.load32_splat(wj + (<usize>p << 2));
        a0 = madd(s, v128.load(v), a0);
        a1 = madd(s, v128.load(v, 16), a1);
        a2 = madd(s, v128.load(v, 32), a2);
        a3 = madd(s, v128.load(v, 48), a3);
        v += stride;
      }
      v128.store(oj, a0);
      v128.store(oj, a1, 16);
      v128.store(oj, a2, 32);
      v128.store(oj, a3, 48);
    }
  }
  for (; d < n; d++) {
    for (let j = 0; j < group; j++) {
      const wj = w + <usize>j * wr;
      const oj = o + <usize>j * oh + (<usize>d << 2);
      let a: f32 = more ? load<f32>(oj) : 0;
      for (let p = 0; p < nPos; p++) a += load<f32>(wj + (<usize>p << 2)) * load<f32>(vp + <usize>p * stride + (<usize>d << 2));
      store<f32>(oj, a);
    }
  }
}

/** f16Round of four lanes, the same bits lane by lane (its normal, subnormal, overflow and Inf/NaN cases as selects). */
@inline function f16Round4(x: v128): v128 {
  const sign = v128.and(x, i32x4.splat(0x80000000));
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const normal = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), i32x4.splat(0xffffe000));
  const sub = f32x4.mul(f32x4.nearest(f32x4.mul(a, f32x4.splat(16777216.0))), f32x4.splat(reinterpret<f32>(0x33800000)));
  let r = v128.bitselect(sub, normal, i32x4.lt_s(a, i32x4.splat(0x38800000)));
  r = v128.bitselect(i32x4.splat(0x7f800000), r, i32x4.ge_s(a, i32x4.splat(0x477ff000)));
  r = v128.bitselect(a, r, i32x4.ge_s(a, i32x4.splat(0x7f800000)));
  return v128.or(r, sign);
}

/**
 * expf4's constants (common.ts), splatted from here once per softmax: a v128.const inside a loop is rebuilt on every
 * pass of it (a 64-bit immediate moved through a general register, then widened: three or four instructions each on
 * x64), and binaryen folds a splat of a literal into such a constant wherever it is used.
 */
const EXP_C = memory.data<f32>([1.44269504089, -126, 0.693359375, -2.12194440e-4, 1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
  4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, 1, 12582912.0 + 127.0, 12582912.0, -87.33654], 16);

/**
 * softmaxRow (elementwise.ts) in place on each of the group's rows of nPos scores (rowBytes apart), the weights rounded
 * to f16 in its last pass when f16 is set: the same max, exps, f64 sum and products by 1/sum, so the same weights. The
 * max pass takes pmax (one instruction; a NaN score still turns every weight NaN, through its exp and the sum).
 * The exps are expf4's operations with its constants held in registers, less two that cannot act on x = score − max:
 * x ≤ 0 or NaN (the pmax chain never takes a NaN lane, so the max is at least every other score), so the clamp of n
 * to 127 and the overflow to +Inf (x > 88.72) leave every lane as it is.
 */
@inline export function softmaxWeights(scores: usize, rowBytes: usize, group: i32, nPos: i32, f16: bool): void {
  const n4 = nPos & ~3;
  const cLog2e = v128.load32_splat(EXP_C), cLo = v128.load32_splat(EXP_C, 4), cLn2a = v128.load32_splat(EXP_C, 8);
  const cLn2b = v128.load32_splat(EXP_C, 12), p0 = v128.load32_splat(EXP_C, 16), p1 = v128.load32_splat(EXP_C, 20);
  const p2 = v128.load32_splat(EXP_C, 24), p3 = v128.load32_splat(EXP_C, 28), p4 = v128.load32_splat(EXP_C, 32);
  const p5 = v128.load32_splat(EXP_C, 36), one = v128.load32_splat(EXP_C, 40), bias = v128.load32_splat(EXP_C, 44);
  const magic = v128.load32_splat(EXP_C, 48), tinyX = v128.load32_splat(EXP_C, 52);
  for (let j = 0; j < group; j++) {
    const p = scores + <usize>j * rowBytes;
    let mv = f32x4.splat(-Infinity);
    for (let i = 0; i < n4; i += 4) mv = f32x4.pmax(mv, v128.load(p + (<usize>i << 2)));
    let m: f32 = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let i = n4; i < nPos; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
    const vm = f32x4.splat(m);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let q = p, end = p + (<usize>n4 << 2); q < end; q += 16) {
      // expf4(x), as in common.ts.
      const x = f32x4.sub(v128.load(q), vm);
      const n = f32x4.pmax(f32x4.nearest(f32x4.mul(x, cLog2e)), cLo);
      let r = f32x4.sub(x, f32x4.mul(n, cLn2a));
      r = f32x4.sub(r, f32x4.mul(n, cLn2b));
      let y = madd(p0, r, p1);
      y = madd(y, r, p2);
      y = madd(y, r, p3);
      y = madd(y, r, p4);
      y = madd(y, r, p5);
      y = f32x4.add(madd(f32x4.mul(y, r), r, r), one);
      v128.store(q, v128.andnot(f32x4.mul(y, i32x4.shl(i32x4.sub(f32x4.add(n, bias), magic), 23)), f32x4.lt(x, tinyX)));
    }
    // The f64 sums in a pass of their own: beside the exps' fourteen constants the two sums do not fit the registers,
    // and a sum kept on the stack puts a store and a load into its chain of adds on every vector.
    for (let q = p, end = p + (<usize>n4 << 2); q < end; q += 16) {
      const e = v128.load(q);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 0, 1)));
    }
    let sum: f64 = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s1, 0) + (f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 1));
    for (let i = n4; i < nPos; i++) {
      const e = f32x4.extract_lane(expf4(f32x4.splat(load<f32>(p + (<usize>i << 2)) - m)), 0);
      store<f32>(p + (<usize>i << 2), e);
      sum += e;
    }
    const inv = f32x4.splat(<f32>(1.0 / sum));
    for (let i = 0; i < n4; i += 4) {
      const w = f32x4.mul(v128.load(p + (<usize>i << 2)), inv);
      v128.store(p + (<usize>i << 2), f16 ? f16Round4(w) : w);
    }
    for (let i = n4; i < nPos; i++) {
      const w = load<f32>(p + (<usize>i << 2)) * f32x4.extract_lane(inv, 0);
      store<f32>(p + (<usize>i << 2), f16 ? f16Round(w) : w);
    }
  }
}
