// Runs the wasm f32 attention kernel on arrays (the kernel-level attention tests' one way to call it).
import type { KernelExports } from "../../src/backends/wasm/kernel-exports";
import { f32ScoresBytes } from "../../src/backends/wasm/attention-scratch";

/**
 * attention's output for q [nTokens][nHeads][headDim] at positions nPos - nTokens.., k and v [nPos][nKvHeads][headDim]
 * in k's memory; f16 and touch are the kernel's flags. The output and score areas start as NaN, so an output never
 * written or a score read before it is written shows.
 */
export function attendF32(k: KernelExports, q: Float32Array, kv: Float32Array, vv: Float32Array, nPos: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number, f16: number, touch: number): Float32Array {
  let at = (k.heap_base() + 15) & ~15;
  const take = (bytes: number) => {
    const p = at;
    at += (bytes + 15) & ~15;
    return p;
  };
  const scoreBytes = f32ScoresBytes(nHeads, nPos);
  const [kp, vp, qp, out, scores] = [kv.length * 4, vv.length * 4, q.length * 4, q.length * 4, scoreBytes].map(take);
  if (at > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((at - k.memory.buffer.byteLength) / 65536));
  const f32 = new Float32Array(k.memory.buffer);
  f32.set(kv, kp! / 4);
  f32.set(vv, vp! / 4);
  f32.set(q, qp! / 4);
  f32.fill(NaN, out! / 4, out! / 4 + q.length);
  f32.fill(NaN, scores! / 4, (scores! + scoreBytes) / 4);
  k.attention(out!, qp!, kp!, vp!, scores!, nPos - nTokens, nTokens, nHeads, nKvHeads, headDim, f16, touch);
  return new Float32Array(k.memory.buffer).slice(out! / 4, out! / 4 + q.length);
}
