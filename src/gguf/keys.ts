// GGUF metadata key names (llama.cpp's LLM_KV_* spellings), spelled once.

export const KEY = {
  architecture: "general.architecture",
  alignment: "general.alignment",
  name: "general.name",
  fileType: "general.file_type",
  quantVersion: "general.quantization_version",
  tokenizerModel: "tokenizer.ggml.model",
  tokens: "tokenizer.ggml.tokens",
  scores: "tokenizer.ggml.scores",
  tokenType: "tokenizer.ggml.token_type",
  merges: "tokenizer.ggml.merges",
  bosId: "tokenizer.ggml.bos_token_id",
  eosId: "tokenizer.ggml.eos_token_id",
  unkId: "tokenizer.ggml.unknown_token_id",
  padId: "tokenizer.ggml.padding_token_id",
  addBos: "tokenizer.ggml.add_bos_token",
  addEos: "tokenizer.ggml.add_eos_token",
  addSpacePrefix: "tokenizer.ggml.add_space_prefix",
  chatTemplate: "tokenizer.chat_template",
  pre: "tokenizer.ggml.pre",
} as const;

/** Architecture-specific key suffixes, used as `${arch}.${suffix}`. */
export const ARCH_KEY = {
  contextLength: "context_length",
  embeddingLength: "embedding_length",
  blockCount: "block_count",
  feedForwardLength: "feed_forward_length",
  headCount: "attention.head_count",
  headCountKv: "attention.head_count_kv",
  rmsEps: "attention.layer_norm_rms_epsilon",
  keyLength: "attention.key_length",
  valueLength: "attention.value_length",
  ropeDimensionCount: "rope.dimension_count",
  ropeFreqBase: "rope.freq_base",
  ropeScalingType: "rope.scaling.type",
  ropeScalingFactor: "rope.scaling.factor",
  ropeScalingOrigCtx: "rope.scaling.original_context_length",
  vocabSize: "vocab_size",
} as const;

export type ArchKeySuffix = (typeof ARCH_KEY)[keyof typeof ARCH_KEY];

/** An architecture-specific key: archKey("llama", ARCH_KEY.headCount) is "llama.attention.head_count". */
export function archKey(arch: string, suffix: string): string {
  return `${arch}.${suffix}`;
}
