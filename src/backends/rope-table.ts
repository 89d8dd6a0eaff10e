// RoPE helpers the backends share: the cos/sin per (position, pair) exactly as ggml's CPU rope caches them (the ref
// backend's ggml mode and the webgpu backend), and a backend's own copy of each frequency-factor array.
import type { RopeParams } from "./backend";
import { cosfGlibc, sinfGlibc } from "./glibc-sincosf";

const f = Math.fround;

/** The RoPE parameters the table depends on (the head layout does not matter). */
export type RopeAngles = Pick<RopeParams, "ropeDims" | "freqBase" | "freqScale">;

/**
 * table[2·(t·half + i)] = cos θ, [+1] = sin θ for position pos0 + t and pair i < ropeDims/2, as ggml_rope_cache_init:
 * θ starts at the position as a float and is multiplied by theta_scale = powf(base, −2/n_dims) pair after pair (f32
 * products), divided by the pair's frequency factor, times freqScale; cos and sin as glibc's cosf/sinf return them (not
 * correctly rounded: an ulp off at θ = 34, 96, 98, …; see glibc-sincosf.ts). GPUs' own sin/cos are approximations: a
 * few ulps there move activations across Q8_0 rounding boundaries, so the webgpu backend uploads this.
 */
export function ggmlRopeTable(nTokens: number, pos0: number, p: RopeAngles, factors?: Float32Array): Float32Array {
  const half = p.ropeDims / 2;
  checkFactors(p, factors);
  const out = new Float32Array(nTokens * half * 2);
  const thetaScale = f(Math.pow(p.freqBase, f(-2 / p.ropeDims)));
  for (let t = 0; t < nTokens; t++) {
    let theta = f(pos0 + t);
    for (let i = 0; i < half; i++) {
      const th = f(f(p.freqScale) * f(theta / (factors ? factors[i]! : 1)));
      out[2 * (t * half + i)] = cosfGlibc(th);
      out[2 * (t * half + i) + 1] = sinfGlibc(th);
      theta = f(theta * thetaScale);
    }
  }
  return out;
}

/** RopeParams.freqFactors must hold one divisor per rotated pair (a short array would read past its end). */
export function checkFactors(p: Pick<RopeParams, "ropeDims">, factors: Float32Array | undefined): void {
  if (factors && factors.length !== p.ropeDims / 2) throw new RangeError(`rope: ${factors.length} frequency factors, expected ropeDims / 2 = ${p.ropeDims / 2}`);
}

/**
 * A backend's own copy of RopeParams.freqFactors (`make`'s result: e.g. the floats in its linear memory), made on an
 * array's first use and kept while the array lives (the arrays are never modified, so identity is the key), checked
 * against ropeDims; undefined when the params carry no factors.
 */
export function factorCopies<T>(make: (factors: Float32Array) => T): (p: Pick<RopeParams, "ropeDims" | "freqFactors">) => T | undefined {
  const copies = new WeakMap<Float32Array, T>();
  return (p) => {
    const factors = p.freqFactors;
    if (!factors) return undefined;
    checkFactors(p, factors);
    let copy = copies.get(factors);
    if (copy === undefined) copies.set(factors, (copy = make(factors)));
    return copy;
  };
}
