/// <reference types="@webgpu/types" />
// The webgpu backend's weight ops: embedding lookup and the per-format matmul dispatch (activation quantization, row chunks, threads per row).
import type { GpuBuffer, GpuMatrix } from "./buffers";
import { floatBytes } from "./buffers";
import { groupsOf, type GpuContext } from "./context";
import { GPU_FORMATS, type GpuActivation } from "./formats";
import { MAX_TOKENS_PER_DISPATCH } from "./recorder";

const TOKENS_PER_GROUP = 4; // TT in matmul_*.wgsl

/** Rows `tokens` of the embedding table w into o, one dispatch per table chunk that holds any of them. */
export function recordEmbed(ctx: GpuContext, o: GpuBuffer, w: GpuMatrix, tokens: readonly number[]): void {
  for (const token of tokens) {
    if (!Number.isInteger(token) || token < 0 || token >= w.rows) throw new RangeError(`token id ${token} is outside the vocabulary (0..${w.rows - 1})`);
  }
  if (tokens.length * w.cols > o.length) throw new RangeError(`embed of ${tokens.length} rows overflows a buffer of ${o.length}`);
  const kernel = ctx.kernels.get("embed", { WTYPE: w.type });
  for (let t0 = 0; t0 < tokens.length; t0 += MAX_TOKENS_PER_DISPATCH) {
    const tok = tokens.slice(t0, t0 + MAX_TOKENS_PER_DISPATCH);
    for (const c of w.chunks) {
      if (!tok.some((t) => t >= c.r0 && t < c.r0 + c.rows)) continue;
      ctx.rec.dispatch(kernel, [c.gpu, o.gpu], { a: [tok.length, w.cols, c.r0, c.rows], b: [t0], tok }, groupsOf(tok.length * w.cols));
    }
  }
  o.version++;
}

/** o = x · mᵀ for nTokens rows of x, with the weight format's kernel and activation type. */
export function recordMatmul(ctx: GpuContext, o: GpuBuffer, m: GpuMatrix, xb: GpuBuffer, nTokens: number): void {
  if (nTokens * m.cols > xb.length || nTokens * m.rows > o.length) throw new RangeError(`matmul ${m.name}: ${nTokens} tokens overflow the buffers`);
  const format = GPU_FORMATS.get(m.type)!; // loadMatrix admitted only table types
  const inputs = format.activation === "f32" ? [xb.gpu] : quantizeInput(ctx, xb, nTokens * m.cols, format.activation);
  // Threads per row: about 64 elements or 8 blocks each, so short rows share a workgroup (a workgroup's fixed cost
  // dominates small rows on software adapters) and long ones get the whole workgroup.
  const split = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(m.cols / format.threadElems)))));
  const kernel = ctx.kernels.get(format.matmul, { WTYPE: m.type, SPLIT: split });
  ctx.intoTarget(o, [xb], (target) => {
    for (const c of m.chunks) {
      const groups = Math.ceil(c.rows / (64 / split));
      ctx.rec.dispatch(kernel, [c.gpu, ...inputs, target], { a: [c.rows, m.cols, nTokens, c.r0], b: [m.rows] }, groups, Math.ceil(nTokens / TOKENS_PER_GROUP));
    }
  });
}

/**
 * The first `n` elements of x quantized to ggml's activation format for the weight type (quantize_act.wgsl), reused
 * while x is unchanged. Q8_0 and Q8_1 are one quantization (the kernel writes Q8_1's s beside Q8_0's d).
 */
function quantizeInput(ctx: GpuContext, x: GpuBuffer, n: number, kind: Exclude<GpuActivation, "f32">): GPUBuffer[] {
  const block = kind === "q8_k" ? 256 : 32;
  const q = x.quantized;
  if (q && q.version === x.version && q.elements === n && q.block === block) return [q.xq, q.xds];
  const buffers = q ?? { xq: ctx.pool.take(floatBytes(x.length / 4)), xds: ctx.pool.take(floatBytes(Math.ceil(x.length / 32) * 4)) };
  ctx.run("quantize_act", [x.gpu, buffers.xq, buffers.xds], { a: [n / block, block === 256 ? 1 : 0] }, groupsOf(n / block));
  x.quantized = { xq: buffers.xq, xds: buffers.xds, version: x.version, elements: n, block };
  return [buffers.xq, buffers.xds];
}
