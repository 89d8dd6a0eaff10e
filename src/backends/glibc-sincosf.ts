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
].map(BigInt);

const d64 = new Float64Array(1);
const i64 = new BigInt64Array(d64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The double next to v towards the sign of dir (v finite, nonzero). */
function step(v: number, dir: number): number {
  d64[0] = v;
  i64[0]! += (v > 0) === dir > 0 ? 1n : -1n;
  return d64[0]!;
}

/** a·b split exactly into hi + lo (Veltkamp/Dekker; no overflow at these magnitudes). */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  const ta = 134217729 * a, ah = ta - (ta - a), al = a - ah;
  const tb = 134217729 * b, bh = tb - (tb - b), bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

/** fma(a, b, c) in double, rounded once (Boldo–Melquiond: the low parts summed with round-to-odd). */
export function fma64(a: number, b: number, c: number): number {
  const [ph, pl] = twoProd(a, b);
  const [sh, sl] = twoSum(c, ph);
  let [v, e] = twoSum(pl, sl);
  if (e !== 0) {
    d64[0] = v;
    if ((i64[0]! & 1n) === 0n) v = step(v, e); // round to odd: the odd neighbour of the exact sum
  }
  return sh + v;
}

/** sinf_poly: the sine polynomial (n even) or the cosine one (n odd) of the reduced x, x2 = x², table `t`. */
function poly(x: number, x2: number, t: number, n: number): number {
  const sg = t === 0 ? 1 : -1; // table 1 holds −c0..−c4
  if ((n & 1) === 0) {
    const x3 = x * x2;
    const s1 = fma64(x2, S[2]!, S[1]!);
    const x7 = x3 * x2;
    const s = fma64(x3, S[0]!, x);
    return f(fma64(x7, s1, s));
  }
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

/** Reduction of |y| ≥ 120: the exact 2.62 fixed-point product of the significand with 4/π, its quadrant in n. */
function reduceLarge(y: number): [number, number] {
  f32[0] = y;
  const xi0 = u32[0]!;
  const k = (xi0 >>> 26) & 15;
  const shift = (xi0 >>> 23) & 7;
  const xi = BigInt(((xi0 & 0xffffff) | 0x800000) << shift >>> 0);
  const M64 = (1n << 64n) - 1n;
  const res0lo = (xi * INV_PIO4[k]!) & 0xffffffffn; // a 32×32-bit product kept to 32 bits (uint32_t arithmetic)
  const res1 = xi * INV_PIO4[k + 4]!;
  const res2 = xi * INV_PIO4[k + 8]!;
  let res0 = ((res2 >> 32n) | (res0lo << 32n)) & M64;
  res0 = (res0 + res1) & M64;
  const n = ((res0 + (1n << 61n)) & M64) >> 62n;
  res0 = (res0 - (n << 62n)) & M64;
  return [Number(BigInt.asIntN(64, res0)) * PI64, Number(n)];
}

function sincos(y: number, cos: boolean): number {
  const a = top12(y);
  if (a < top12(0.7853981633974483)) { // π/4 (as a float's top bits)
    if (a < top12(0.000244140625)) return cos ? 1 : y;
    return poly(y, y * y, 0, cos ? 1 : 0);
  }
  let x: number;
  let q: number; // quadrant used for the sign and the table
  let n: number;
  if (a < top12(120)) {
    const r = y * HPI_INV;
    n = ((Math.trunc(r) | 0) + 0x800000) >> 24;
    x = fma64(-n, HPI, y); // x − n·π/2, fused
    q = n;
  } else {
    if (!Number.isFinite(y)) return NaN;
    [x, n] = reduceLarge(y);
    q = n + (y < 0 ? 1 : 0);
  }
  const s = SIGN[q & 3]!;
  return poly(x * s, x * x, q & 2 ? 1 : 0, cos ? n ^ 1 : n);
}

/** glibc's sinf(y) for a float y. */
export function sinfGlibc(y: number): number {
  return sincos(y, false);
}

/** glibc's cosf(y) for a float y. */
export function cosfGlibc(y: number): number {
  return sincos(y, true);
}
