// koffi bindings to the prebuilt llama.cpp (release v0.4.0) that npm @node-llama-cpp/linux-x64@3.21.1 ships: only what the oracle runner calls.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import koffi from "koffi";

// Struct layouts copied from llama.h at that release (include/llama.h). Enums are int32; koffi applies C alignment.
// Only the fields we set are named meaningfully; every field must still be present for the by-value copies.
const ModelParams = koffi.struct("llama_model_params", {
  devices: "void*",
  tensor_buft_overrides: "void*",
  n_gpu_layers: "int32",
  split_mode: "int32",
  load_mode: "int32",
  lazy_mode: "int32",
  main_gpu: "int32",
  tensor_split: "void*",
  progress_callback: "void*",
  progress_callback_user_data: "void*",
  kv_overrides: "void*",
  vocab_only: "bool",
  check_tensors: "bool",
  use_extra_bufts: "bool",
  no_host: "bool",
  no_alloc: "bool",
  load_mtp: "bool",
});

const ContextParams = koffi.struct("llama_context_params", {
  n_ctx: "uint32",
  n_batch: "uint32",
  n_ubatch: "uint32",
  n_seq_max: "uint32",
  n_rs_seq: "uint32",
  n_outputs_max: "uint32",
  n_outputs_max_per_seq: "uint32",
  n_threads: "int32",
  n_threads_batch: "int32",
  ctx_type: "int32",
  rope_scaling_type: "int32",
  pooling_type: "int32",
  attention_type: "int32",
  flash_attn_type: "int32",
  rope_freq_base: "float",
  rope_freq_scale: "float",
  yarn_ext_factor: "float",
  yarn_attn_factor: "float",
  yarn_beta_fast: "float",
  yarn_beta_slow: "float",
  yarn_orig_ctx: "uint32",
  defrag_thold: "float",
  cb_eval: "void*",
  cb_eval_user_data: "void*",
  type_k: "int32",
  type_v: "int32",
  abort_callback: "void*",
  abort_callback_data: "void*",
  embeddings: "bool",
  offload_kqv: "bool",
  no_perf: "bool",
  op_offload: "bool",
  swa_full: "bool",
  kv_unified: "bool",
  samplers: "void*",
  n_samplers: "size_t",
  ctx_other: "void*",
});

const Batch = koffi.struct("llama_batch", {
  n_tokens: "int32",
  token: "int32*",
  embd: "float*",
  pos: "int32*",
  n_seq_id: "int32*",
  seq_id: "int32**",
  logits: "int8*",
});

const ChatMessage = koffi.struct("llama_chat_message", { role: "const char*", content: "const char*" });

/** Field values of llama_model_params / llama_context_params as koffi decodes them (plain objects). */
export type ModelParamsValue = Record<string, unknown>;
export type ContextParamsValue = Record<string, unknown> & {
  n_ctx: number;
  n_batch: number;
  n_ubatch: number;
  n_seq_max: number;
  n_threads: number;
  n_threads_batch: number;
  flash_attn_type: number;
  type_k: number;
  type_v: number;
  no_perf: boolean;
};

/** ggml_type values used here, and llama_flash_attn_type's values. */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;
export const GGML_TYPE_Q8_0 = 8;
export const FLASH_ATTN_AUTO = -1;
export const FLASH_ATTN_DISABLED = 0;
export const FLASH_ATTN_ENABLED = 1;

/** Where the shipped CPU build lives: the bins/linux-x64 folder of @node-llama-cpp/linux-x64 (resolved through node-llama-cpp). */
export function llamaLibDir(): string {
  // The package exports only its entry (dist/index.js); bins/ sits next to dist/.
  const entry = createRequire(import.meta.url).resolve("@node-llama-cpp/linux-x64");
  const dir = join(dirname(entry), "..", "bins", "linux-x64");
  if (!existsSync(join(dir, "libllama.v0.4.0.so"))) throw new Error(`no libllama.v0.4.0.so in ${dir} (npm i -D -E node-llama-cpp@3.21.1)`);
  return dir;
}

/** The CPU variants the package ships (libggml-cpu-<name>.so), e.g. haswell, icelake, zen4. */
export function cpuVariants(dir = llamaLibDir()): string[] {
  return readdirSync(dir)
    .map((f) => /^libggml-cpu-(.+)\.so$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort();
}

/** The C functions, bound once per process. */
export function bindLlama(dir: string) {
  const ggml = koffi.load(join(dir, "libggml.v0.4.0.so"));
  const lib = koffi.load(join(dir, "libllama.v0.4.0.so"));
  const LogCallback = koffi.proto("void ggml_log_callback(int level, const char *text, void *user_data)");
  return {
    ModelParams,
    ContextParams,
    Batch,
    LogCallback,
    ggml_backend_load: ggml.func("void *ggml_backend_load(const char *path)"),
    llama_backend_init: lib.func("void llama_backend_init()"),
    llama_model_default_params: lib.func("llama_model_params llama_model_default_params()"),
    llama_context_default_params: lib.func("llama_context_params llama_context_default_params()"),
    llama_model_load_from_file: lib.func("void *llama_model_load_from_file(const char *path, llama_model_params params)"),
    llama_model_free: lib.func("void llama_model_free(void *model)"),
    llama_init_from_model: lib.func("void *llama_init_from_model(void *model, llama_context_params params)"),
    llama_free: lib.func("void llama_free(void *ctx)"),
    llama_model_get_vocab: lib.func("void *llama_model_get_vocab(void *model)"),
    llama_vocab_n_tokens: lib.func("int32 llama_vocab_n_tokens(void *vocab)"),
    llama_vocab_bos: lib.func("int32 llama_vocab_bos(void *vocab)"),
    llama_tokenize: lib.func("int32 llama_tokenize(void *vocab, const char *text, int32 len, _Out_ int32 *tokens, int32 max, bool add_special, bool parse_special)"),
    llama_token_to_piece: lib.func("int32 llama_token_to_piece(void *vocab, int32 token, _Out_ uint8 *buf, int32 len, int32 lstrip, bool special)"),
    ChatMessage,
    /** llama.cpp's built-in chat formats (no Jinja): it recognises the template by its text, -1 when it does not know it. */
    llama_chat_apply_template: lib.func(
      "int32 llama_chat_apply_template(const char *tmpl, const llama_chat_message *chat, size_t n_msg, bool add_ass, _Out_ uint8 *buf, int32 length)",
    ),
    llama_model_chat_template: lib.func("const char *llama_model_chat_template(void *model, const char *name)"),
    llama_vocab_is_eog: lib.func("bool llama_vocab_is_eog(void *vocab, int32 token)"),
    llama_batch_init: lib.func("llama_batch llama_batch_init(int32 n_tokens, int32 embd, int32 n_seq_max)"),
    llama_batch_free: lib.func("void llama_batch_free(llama_batch batch)"),
    llama_decode: lib.func("int32 llama_decode(void *ctx, llama_batch batch)"),
    llama_get_logits_ith: lib.func("float *llama_get_logits_ith(void *ctx, int32 i)"),
    llama_get_memory: lib.func("void *llama_get_memory(void *ctx)"),
    llama_memory_clear: lib.func("void llama_memory_clear(void *mem, bool data)"),
    llama_synchronize: lib.func("void llama_synchronize(void *ctx)"),
    /** ggml_backend_score of one CPU variant library (0 = this CPU cannot run it); how ggml_backend_load_best picks. */
    variantScore(path: string): number {
      return koffi.load(path).func("int ggml_backend_score()")() as number;
    },
    /** Routes llama.cpp's and ggml's log lines to nowhere (the callback stays registered for the process). */
    silenceLogs(): void {
      const cb = koffi.register((_level: number, _text: string, _user: unknown) => {}, koffi.pointer(LogCallback));
      lib.func("void llama_log_set(ggml_log_callback *cb, void *user_data)")(cb, null);
    },
    decodePointer: koffi.decode,
  };
}

export type LlamaFfi = ReturnType<typeof bindLlama>;
