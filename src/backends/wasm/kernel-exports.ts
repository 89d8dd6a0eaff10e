// The typed surface of the compiled kernel module (kernels/wasm/index.ts); pointers are byte offsets in its memory.

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heap_base(): number;
  is_relaxed(): number;
  quantize_q8_0(x: number, q: number, d: number, s: number, n: number): void;
  round_f16(y: number, x: number, n: number): void;
  matmul_q8_0(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  matmul_q4_0(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  quantize_q8_1(x: number, q: number, d: number, s: number, st: number, n: number): void;
  matmul_q4_1(out: number, w: number, xq: number, xd: number, xs: number, xst: number, rows: number, cols: number, nTokens: number): void;
  matmul_q5_0(out: number, w: number, xq: number, xd: number, xs: number, xst: number, rows: number, cols: number, nTokens: number): void;
  matmul_q5_1(out: number, w: number, xq: number, xd: number, xs: number, xst: number, rows: number, cols: number, nTokens: number): void;
  embed_legacy(out: number, w: number, format: number, cols: number, tokens: number, nTokens: number): void;
  quantize_q8_k(x: number, q: number, d: number, s: number, n: number): void;
  matmul_q2_k(out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  matmul_q3_k(out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  embed_q2_k(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  embed_q3_k(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  matmul_q4_k(out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  matmul_q5_k(out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  matmul_q6_k(out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  embed_q4_k(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  embed_q5_k(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  embed_q6_k(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  matmul_f32(out: number, w: number, x: number, rows: number, cols: number, nTokens: number): void;
  matmul_bf16(out: number, w: number, x: number, rows: number, cols: number, nTokens: number): void;
  round_bf16(y: number, x: number, n: number): void;
  embed_bf16(out: number, w: number, cols: number, tokens: number, nTokens: number): void;
  matmul_f16(out: number, w: number, x: number, rows: number, cols: number, nTokens: number): void;
  rmsnorm(out: number, x: number, w: number, dim: number, nTokens: number, eps: number): void;
  softmax(x: number, rows: number, len: number): void;
  swiglu(out: number, g: number, u: number, n: number): void;
  add(out: number, a: number, b: number, n: number): void;
  copy_bytes(dst: number, src: number, n: number): void;
  fill_zero(dst: number, n: number): void;
  rope_table(table: number, nTokens: number, pos0: number, ropeDims: number, freqBase: number, freqScale: number, factors: number): void;
  rope(x: number, table: number, nTokens: number, nHeads: number, headDim: number, ropeDims: number, neox: number): void;
  add_bias(x: number, bias: number, nTokens: number, len: number): void;
  attention(out: number, q: number, k: number, v: number, scores: number, pos0: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number, weightsF16: number, touch: number): void;
  kv_encode(dst: number, src: number, n: number, type: number): void;
  kv_decode(dst: number, src: number, n: number, type: number): void;
  kv_decode_rows(dst: number, src: number, nRows: number, srcStride: number, n: number, type: number): void;
  embed_float(out: number, w: number, elemBytes: number, cols: number, tokens: number, nTokens: number): void;
  embed_quant(out: number, wq: number, wd: number, q4: number, cols: number, tokens: number, nTokens: number): void;
  attention_typed(out: number, q: number, k: number, v: number, scores: number, pos0: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number, rowBytes: number, type: number, tile: number): void;
  /** One token's Q8_0 / Q4_0 matmul, two panels per pass; xe: scratch of cols·10 bytes (kernels/wasm/decode-pair.ts). */
  decode_q8_0(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, xe: number): void;
  decode_q4_0(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, xe: number): void;
  /** decode_q8_0's fused vpdpbusd form, which decode_q8_0 takes only where vnni() answers true: the tests run it anywhere (exact on quants ≤ 0). */
  decode_q8_0_fused(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, xe: number): void;
  argmax_f32(p: number, n: number): number;
  /** quantize_q8_0 of nTokens rows of cols floats, full 4-token tiles interleaved (kernels/wasm/quantize-act.ts). */
  quantize_q8_0_tiles(x: number, q: number, d: number, s: number, cols: number, nTokens: number): void;
  /** matmul_q4_0 on quantize_q8_0_tiles's activations (kernels/wasm/prefill-q4t.ts). */
  matmul_q4_0_tiles(out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number): void;
  /** x += b, then out = rmsnorm(x) · w, per row of dim floats: add then rmsnorm's bits (kernels/wasm/elementwise.ts). */
  add_rmsnorm(x: number, b: number, out: number, w: number, dim: number, nTokens: number, eps: number): void;
  /** One token's Q5_0 / Q5_1 matmul, two panels per pass; xe: scratch of cols·5 bytes (kernels/wasm/decode-pair-legacy.ts). */
  decode_q5_0(out: number, w: number, xq: number, xd: number, xs: number, xst: number, rows: number, cols: number, xe: number): void;
  decode_q5_1(out: number, w: number, xq: number, xd: number, xs: number, xst: number, rows: number, cols: number, xe: number): void;
}

const REQUIRED = ["memory", "heap_base", "is_relaxed", "quantize_q8_0", "quantize_q8_k", "matmul_q8_0", "matmul_q4_k", "matmul_q6_k", "matmul_f32", "attention", "attention_typed", "kv_decode_rows", "embed_quant", "embed_q4_k", "decode_q4_0", "decode_q8_0", "argmax_f32", "add_rmsnorm", "decode_q5_0", "decode_q5_1"] as const;

/** Instantiates the kernel module (synchronously: it is small and imports nothing) and checks its exports. */
export function instantiateKernels(module: WebAssembly.Module): KernelExports {
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as KernelExports;
  for (const name of REQUIRED) {
    if (!(name in exports)) throw new Error(`wasm kernels: the module lacks export "${name}" (stale build? run npm run build:kernels)`);
  }
  return exports;
}
