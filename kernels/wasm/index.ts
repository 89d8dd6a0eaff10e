// Entry point of the WASM-SIMD kernels: every export the TS backend calls (built twice: SIMD128 and relaxed SIMD).
export { quantize_q8_0, round_f16 } from "./quantize-act";
export { matmul_q8_0, matmul_q4_0 } from "./matmul-quant";
export { quantize_q8_k } from "./quantize-q8k";
export { quantize_q8_1 } from "./quantize-q81";
export { matmul_q4_1, matmul_q5_0, matmul_q5_1 } from "./matmul-legacy";
export { embed_legacy } from "./embed-legacy";
export { matmul_q2_k } from "./matmul-q2k";
export { matmul_q3_k } from "./matmul-q3k";
export { embed_q2_k, embed_q3_k } from "./embed-q23k";
export { matmul_q4_k } from "./matmul-q4k";
export { matmul_q5_k } from "./matmul-q5k";
export { matmul_q6_k } from "./matmul-q6k";
export { embed_q4_k, embed_q5_k, embed_q6_k } from "./embed-kquant";
export { matmul_f32, matmul_f16 } from "./matmul-float";
export { matmul_bf16, round_bf16, embed_bf16 } from "./matmul-bf16";
export { rmsnorm, softmax, swiglu, add, add_bias, copy_bytes, fill_zero } from "./elementwise";
export { rope, rope_table } from "./rope";
export { attention } from "./attention";
export { kv_encode, kv_decode, kv_decode_rows } from "./kv-convert";
export { attention_typed } from "./attention-typed";
export { embed_float, embed_quant } from "./embed";
export { matmul_q4_0_fused, dot_add_fused } from "./matmul-quant";

/** First byte past the module's static data: where the TS allocator may start. */
export function heap_base(): usize {
  return __heap_base;
}

/** 1 on the relaxed-SIMD build, 0 on SIMD128 (lets the backend check which build it was handed). */
export function is_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
export { matmul_q4_0_i16 } from "./matmul-quant";
export { set_dot_add_fused } from "./matmul-quant";
export { dot_i7_unsigned, set_dot_i7_unsigned } from "./dot-probe";
export { decode_q8_0, decode_q8_0_fused, decode_q4_0 } from "./decode-pair";
export { matmul_q8_0_fused, matmul_q8_0_i16 } from "./matmul-quant";
export { argmax_f32 } from "./argmax";
export { quantize_q8_0_tiles } from "./quantize-act";
export { matmul_q4_0_tiles } from "./prefill-q4t";
export { add_rmsnorm } from "./elementwise";
export { decode_q5_0, decode_q5_1 } from "./decode-pair-legacy";
