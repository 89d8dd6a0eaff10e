// RoPE's cos/sin per (position, pair) exactly as ggml's CPU rope caches them: the ref backend's ggml mode and the webgpu backend share it.
import type { RopeParams } from "./backend";

const f = Math.fround;

/** The RoPE parameters the table depends on (the head layout does not matter). */
export type RopeAngles = Pick<RopeParams, "ropeDims" | "freqBase" | "freqScale">;

/**
 * table[2·(t·half + i)] = cos θ, [+1] = sin θ for position pos0 + t and pair i < ropeDims/2, as ggml_rope_cache_init:
 * θ starts at the position as a float and is multiplied by theta_scale = powf(base, −2/n_dims) pair after pair (f32
 * products), divided by the pair's frequency factor, times freqScale; cos and sin rounded to f32. GPUs' own sin/cos are
 * approximations: a few ulps there move activations across Q8_0 rounding boundaries, so the webgpu backend uploads this.
 */
export function ggmlRopeTable(nTokens: number, pos0: number, p: RopeAngles, factors?: Float32Array): Float32Array {
  const half = p.ropeDims / 2;
  const out = new Float32Array(nTokens * half * 2);
  const thetaScale = f(Math.pow(p.freqBase, f(-2 / p.ropeDims)));
  for (let t = 0; t < nTokens; t++) {
    let theta = f(pos0 + t);
    for (let i = 0; i < half; i++) {
      const th = f(f(p.freqScale) * f(theta / (factors ? factors[i]! : 1)));
      out[2 * (t * half + i)] = Math.cos(th);
      out[2 * (t * half + i) + 1] = Math.sin(th);
      theta = f(theta * thetaScale);
    }
  }
  return out;
}
