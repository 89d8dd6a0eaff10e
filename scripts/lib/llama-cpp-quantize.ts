// llama.cpp's own model quantizer (llama_model_quantize) through koffi: the oracle for `npm run model:quantize`'s bytes.
import { join } from "node:path";
import koffi from "koffi";
import { initLlamaCpp } from "./llama-cpp";
import { llamaLibDir } from "./llama-cpp-ffi";

// llama_model_quantize_params as include/llama.h declares it at the shipped release (enums are int32); registered by
// name for the signatures below.
koffi.struct("llama_model_quantize_params", {
  nthread: "int32",
  ftype: "int32",
  output_tensor_type: "int32",
  token_embedding_type: "int32",
  allow_requantize: "bool",
  quantize_output_tensor: "bool",
  only_copy: "bool",
  pure: "bool",
  keep_split: "bool",
  dry_run: "bool",
  imatrix: "void*",
  kv_overrides: "void*",
  tt_overrides: "void*",
  prune_layers: "void*",
  max_buf_size: "size_t",
});

/** llama_ftype values of the mixes we compare (llama.h). */
export const LLAMA_FTYPES = {
  q8_0: 7,
  q4_0: 2,
  q2_k: 10,
  q3_k_s: 11,
  q3_k_m: 12,
  q4_k_s: 14,
  q4_k_m: 15,
  q5_k_s: 16,
  q5_k_m: 17,
  q6_k: 18,
} as const;
export type LlamaFtypeName = keyof typeof LLAMA_FTYPES;

let bound: { defaults: () => Record<string, unknown>; quantize: (i: string, o: string, p: unknown) => number } | undefined;

function bind() {
  if (bound) return bound;
  initLlamaCpp(); // backend init and logging settings, once per process
  const lib = koffi.load(join(llamaLibDir(), "libllama.v0.4.0.so"));
  const defaults = lib.func("llama_model_quantize_params llama_model_quantize_default_params()");
  const quantize = lib.func("uint32 llama_model_quantize(const char *fname_inp, const char *fname_out, const llama_model_quantize_params *params)");
  bound = { defaults: () => defaults() as Record<string, unknown>, quantize: (i, o, p) => quantize(i, o, p) as number };
  return bound;
}

/** Quantizes the GGUF at `input` to `output` as llama-quantize would (one thread, no imatrix); `pure` skips the mixture rules. */
export function llamaQuantize(input: string, output: string, ftype: LlamaFtypeName, pure = false): void {
  const b = bind();
  const params = { ...b.defaults(), nthread: 1, ftype: LLAMA_FTYPES[ftype], pure };
  const rc = b.quantize(input, output, params);
  if (rc !== 0) throw new Error(`llama_model_quantize(${ftype}) returned ${rc}`);
}
