// glibc's sinf/cosf (x86-64, the FMA build its ifunc picks on AVX2 CPUs) emulated bit for bit: ggml's CPU rope caches cos/sin with them.
//
// Why: glibc ≥ 2.28's sinf/cosf are fast, not correctly rounded (worst case 0.56 ulp): for θ = 34, 96, 98, 131, …
// they return the float next to the correctly rounded one, so f32(Math.cos(θ)) differs from llama.cpp's rope angle
// there, and that ulp can move an activation across a rounding boundary further on. The algorithm (shared with ARM's
// optimized-routines): range reduction to |r| ≤ π/4 in double (one multiply-subtract below 120, a 4/π integer table
// above), then a degree-7 sine or degree-8 cosine polynomial in double, each a + b·c an FMA (glibc's __sinf_fma and
// __cosf_fma variants are built with -mfma, so the compiler fuses them), the result rounded once to float.

const f = Math.fround;

// Polynomial coefficients (glibc's __sincosf_table; the second table evaluates −cos to fold a sign): c0..c4 for cos
// (1, −0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, −0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16), s1..s3 for sin
// (−0x1.555545995a603p-3, 0x1.1107605230bc4p-7, −0x1.994eb3774cf24p-13), written below as the same doubles in decimal.
const C = [1, -0.49999999725108224, 0.041666623324344516, -0.001388676379437604, 2.4390450703564542e-05];
const S = [-0.16666654943701084, 0.008332178146138854, -0.00019517298981385725];
const HPI_INV = 10680707.430881744; // 0x1.45f306dc9c883p+23 = 2/π · 2^24
const HPI = 1.5707963267948966; // 0x1.921fb54442d18p0 = π/2
const PI64 = 3.4061215800865545e-19; // 0x1.921fb54442d18p-62 = π · 2^-64
const SIGN = [1, -1, -1, 1];
// 4/π to 192 bits, 8 new bits per entry (so every 32-bit window is one aligned read).
const INV_PIO4 = [
  0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
  0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
];

const d64 = new Float64Array(1);
const w64 = new Uint32Array(d64.buffer); // [low word, high word] of d64 (little-endian, as every JS engine here)
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
const TWO32 = 4294967296;

/** fma(a, b, c) in double, rounded once (Boldo–Melquiond: the exact a·b = p + pl, then the low parts summed with
 * round-to-odd before the last addition). No allocations: it runs ~10 times per angle. */
export function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b), bl = b - bh;
  const pl = ah * bh - p + ah * bl + al * bh + al * bl; // a·b − p exactly
  const sh = c + p;
  let bb = sh - c;
  const sl = c - (sh - bb) + (p - bb); // c + p − sh exactly
  let v = pl + sl;
  bb = v - pl;
  const e = pl - (v - bb) + (sl - bb); // pl + sl − v exactly
  if (e !== 0) {
    d64[0] = v;
    if ((w64[0]! & 1) === 0) {
      // Round to odd: step to the neighbour on e's side (v ≠ 0 here), the one with the odd last bit.
      const up = v > 0 === e > 0; // away from zero
      const lo = w64[0]! + (up ? 1 : -1);
      w64[0] = lo >>> 0;
      if (lo === TWO32) w64[1] = w64[1]! + 1;
      else if (lo === -1) w64[1] = w64[1]! - 1;
      v = d64[0]!;
    }
  }
  return sh + v;
}

/** sinf_poly: the sine polynomial (n even) or the cosine one (n odd) of the reduced x, x2 = x², table `t`. */
function poly(x: number, x2: number, t: number, n: number): number {
  if ((n & 1) === 0) {
    const x3 = x * x2;
    const s1 = fma64(x2, S[2]!, S[1]!);
    const x7 = x3 * x2;
    const s = fma64(x3, S[0]!, x);
    return f(fma64(x7, s1, s));
  }
  const sg = t === 0 ? 1 : -1; // table 1 holds −c0..−c4
  const x4 = x2 * x2;
  const c2 = fma64(x2, sg * C[4]!, sg * C[3]!);
  const c1 = fma64(x2, sg * C[1]!, sg * C[0]!);
  const x6 = x4 * x2;
  const c = fma64(x4, sg * C[2]!, c1);
  return f(fma64(x6, c2, c));
}

/** (asuint(y) >> 20) & 0x7ff: sign-less top 12 bits, how glibc compares magnitudes. */
function top12(y: number): number {
  f32[0] = y;
  return (u32[0]! >>> 20) & 0x7ff;
}
const TOP_PIO4 = top12(0.7853981633974483); // π/4
const TOP_TINY = top12(0.000244140625); // 2^-12
const TOP_120 = top12(120);

/** a·b of two uint32 as [high, low] uint32 words (16-bit halves keep every partial product exact in a double). */
let mulHi = 0;
function mul32(a: number, b: number): number {
  const a1 = a >>> 16, a0 = a & 0xffff, b1 = b >>> 16, b0 = b & 0xffff;
  const mid = a1 * b0 + a0 * b1; // < 2^33
  let lo = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  const carry = lo >= TWO32 ? 1 : 0;
  lo -= carry * TWO32;
  mulHi = a1 * b1 + Math.floor(mid / 65536) + carry;
  return lo;
}

/** Reduction of |y| ≥ 120 (reduce_large): the 2.62 fixed-point product of the significand with 4/π in 64-bit
 * integer arithmetic (kept as two 32-bit words), returned as the reduced angle; its quadrant in `quadrant`. */
let quadrant = 0;
function reduceLarge(y: number): number {
  f32[0] = y;
  const bits = u32[0]!;
  const k = (bits >>> 26) & 15;
  const xi = ((bits & 0xffffff) | 0x800000) * 2 ** ((bits >>> 23) & 7); // < 2^31
  const r0 = Math.imul(xi, INV_PIO4[k]!) >>> 0; // uint32_t product: only its low word
  const r1lo = mul32(xi, INV_PIO4[k + 4]!), r1hi = mulHi;
  mul32(xi, INV_PIO4[k + 8]!);
  const r2hi = mulHi;
  // res0 = (r0 << 32 | r2 >> 32) + r1, mod 2^64
  let lo = r2hi + r1lo;
  const carry = lo >= TWO32 ? 1 : 0;
  lo -= carry * TWO32;
  let hi = (r0 + r1hi + carry) % TWO32;
  const n = ((hi + 0x20000000) % TWO32) >>> 30; // (res0 + 2^61) >> 62
  hi = (hi - n * 0x40000000 + TWO32) % TWO32; // res0 −= n << 62
  quadrant = n;
  // (int64) res0 to double: the high word's signed value times 2^32 is exact, so one rounding in the addition.
  return ((hi >= 0x80000000 ? hi - TWO32 : hi) * TWO32 + lo) * PI64;
}

function sincos(y: number, cos: boolean): number {
  const a = top12(y);
  if (a < TOP_PIO4) {
    if (a < TOP_TINY) return cos ? 1 : y;
    return poly(y, y * y, 0, cos ? 1 : 0);
  }
  let x: number;
  let n: number;
  let q: number; // the quadrant with y's sign folded in: it picks the sign of x and the table
  if (a < TOP_120) {
    n = ((Math.trunc(y * HPI_INV) | 0) + 0x800000) >> 24;
    x = fma64(-n, HPI, y); // x − n·π/2, fused
    q = n;
  } else {
    if (!Number.isFinite(y)) return NaN;
    x = reduceLarge(y);
    n = quadrant;
    q = n + (y < 0 ? 1 : 0);
  }
  return poly(x * SIGN[q & 3]!, x * x, q & 2 ? 1 : 0, cos ? n ^ 1 : n);
}

/**
 * The float glibc returns, taken from the double-precision libm value where that is safe: glibc's double polynomial is
 * within 0.061 float ulp of the true value (worst case 0.5607 ulp after rounding), so its float is the correctly
 * rounded one unless the true value lies that close to the midpoint of two floats. Outside 1/8 ulp of a midpoint
 * f32(Math.sin/cos) is therefore glibc's answer; nearer, the emulation decides (about a quarter of the angles).
 */
function viaDouble(y: number, d: number, cos: boolean): number {
  const r = f(d);
  if (r === d) return r;
  f32[0] = r;
  u32[0] = u32[0]! + ((d > r) === (r > 0) ? 1 : -1); // the float on d's side of r (r ≠ 0: |d| ≥ 2^-12 or cos ≈ 1)
  const other = f32[0]!;
  const dist = Math.abs(d - (r + other) / 2) / Math.abs(other - r); // from the midpoint, in ulps
  return dist > 0.125 ? r : sincos(y, cos);
}

/** glibc's sinf(y) for a float y. */
export function sinfGlibc(y: number): number {
  return Math.abs(y) < 0.000244140625 || !Number.isFinite(y) ? sincos(y, false) : viaDouble(y, Math.sin(y), false);
}

/** glibc's cosf(y) for a float y. */
export function cosfGlibc(y: number): number {
  return !Number.isFinite(y) ? NaN : viaDouble(y, Math.cos(y), true);
}

/** The emulation alone, every angle through glibc's reduction and polynomial (tests check the shortcut against it). */
export function sincosfGlibcExact(y: number): [sin: number, cos: number] {
  return [sincos(y, false), sincos(y, true)];
}
