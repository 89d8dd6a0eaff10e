// Seeded PRNG (xoshiro128**) whose whole state is four u32s, so a sampler can be saved and resumed bit-exactly.

/** The full generator state: four unsigned 32-bit integers, never all zero. Plain data, JSON-safe. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
}

const TWO_POW_32 = 2 ** 32;
const TWO_POW_24 = 2 ** 24;

/** One splitmix32 step (Mulberry/Vigna style mixer): advances the seeding state and returns a well-mixed u32. */
function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * xoshiro128** 1.0 (Blackman & Vigna): period 2^128-1, passes BigCrush, and needs only 32-bit integer ops, which
 * JavaScript does exactly with Math.imul and `| 0`. The state lives in four int32 fields (not a typed array) so the
 * hot path stays monomorphic; it is exposed as unsigned values.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * Seeds from any safe integer (32-bit or up to 53-bit, negative allowed). The low and high 32-bit halves each go
   * through their own splitmix32 stream: s0 is a bijection of the low half and s2 a bijection of the high half
   * (given s1), so distinct seeds always give distinct states, and nearby seeds give unrelated streams.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0; // seed mod 2^32 (two's complement for negatives)
    const hi = Math.floor(seed / TWO_POW_32) | 0;
    const low = { x: lo };
    this.a = splitmix32(low) | 0;
    this.b = splitmix32(low) | 0;
    const high = { x: hi ^ this.b };
    this.c = splitmix32(high) | 0;
    this.d = splitmix32(high) | 0;
    // The all-zero state is the one fixed point of xoshiro; unreachable in practice, but cheap to rule out.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Restores a generator saved with state(); throws on anything that is not four u32s (not all zero). */
  static fromState(state: RngState): Rng {
    const s: unknown = (state as { s?: unknown } | null)?.s;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_POW_32)) {
      throw new RangeError(`Rng state must be { s: [u32, u32, u32, u32] }, got ${JSON.stringify(state)}`);
    }
    if (s.every((v) => v === 0)) throw new RangeError("Rng state must not be all zero");
    const rng = Object.create(Rng.prototype) as Rng;
    rng.a = s[0] | 0;
    rng.b = s[1] | 0;
    rng.c = s[2] | 0;
    rng.d = s[3] | 0;
    return rng;
  }

  /** A snapshot (a fresh object; later draws do not change it). */
  state(): RngState {
    return { s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0] };
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const b = this.b;
    const m = Math.imul(b, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return result >>> 0;
  }

  /** Uniform float in [0, 1) with 24 bits of resolution (the top bits, which are the strongest in xoshiro). */
  nextFloat(): number {
    return (this.nextU32() >>> 8) / TWO_POW_24;
  }
}
