// LlamaConfig: the model's hyperparameters read from GGUF metadata, validated and frozen, with derived sizes computed once.
import type { GgufFile } from "../gguf/index";
import { metaArray, metaOptNumber, metaOptString, metaString } from "../gguf/index";
import { ARCHITECTURES, isArchitecture, type Architecture, type ArchTraits } from "./architectures";
import { ModelError } from "./errors";
import { OUTPUT, ROPE_FREQS, TOKEN_EMBD } from "./tensor-names";

export interface LlamaConfig {
  readonly architecture: Architecture;
  /** The architecture's switches on the llama graph (RoPE style, q/k/v biases, q/k norms). */
  readonly traits: ArchTraits;
  readonly name: string;
  /** Embedding width (llama.embedding_length). */
  readonly dim: number;
  readonly nLayers: number;
  /** Query heads. */
  readonly nHeads: number;
  /** Key/value heads (GQA when fewer than nHeads; MQA when 1). */
  readonly nKvHeads: number;
  /** Width of one head. */
  readonly headDim: number;
  /** nKvHeads * headDim: width of one position's K (or V) in one layer. */
  readonly kvDim: number;
  /** nHeads * headDim: width of the attention output. */
  readonly qDim: number;
  /** Hidden width of the feed-forward block. */
  readonly ffnDim: number;
  /** Context length the model was trained with. */
  readonly nCtxTrain: number;
  /** Leading dimensions of each head that RoPE rotates. */
  readonly ropeDims: number;
  readonly ropeFreqBase: number;
  /** 1 / linear RoPE scaling factor (1 when unscaled). */
  readonly ropeFreqScale: number;
  /** The file has rope_freqs.weight (llama 3 scaling): per-pair divisors of the RoPE angle. */
  readonly ropeFreqFactors: boolean;
  readonly rmsEps: number;
  readonly vocabSize: number;
  /** True when the file has no output.weight and the embedding table doubles as the classifier. */
  readonly tiedOutput: boolean;
}

function positiveInt(key: string, value: number | undefined): number {
  if (value === undefined) throw new ModelError(`missing metadata key ${key}`);
  if (!Number.isInteger(value) || value <= 0) throw new ModelError(`metadata ${key} must be a positive integer, got ${value}`);
  return value;
}

function positiveFloat(key: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ModelError(`metadata ${key} must be a positive number, got ${value}`);
  return value;
}

/** Reads and checks a llama config; every missing or invalid key is named in the error. */
export function configFromGguf(file: GgufFile): LlamaConfig {
  const arch = metaOptString(file, "general.architecture");
  if (arch === undefined) throw new ModelError("missing metadata key general.architecture");
  if (!isArchitecture(arch)) {
    throw new ModelError(`unsupported architecture "${arch}": this engine runs ${Object.keys(ARCHITECTURES).map((a) => `"${a}"`).join(", ")} models`);
  }
  const key = (suffix: string) => `${arch}.${suffix}`;
  const num = (suffix: string) => metaOptNumber(file, key(suffix));

  const dim = positiveInt(key("embedding_length"), num("embedding_length"));
  const nLayers = positiveInt(key("block_count"), num("block_count"));
  const nHeads = positiveInt(key("attention.head_count"), num("attention.head_count"));
  // llama.cpp defaults the KV head count to the query head count (plain multi-head attention).
  const nKvHeads = positiveInt(key("attention.head_count_kv"), num("attention.head_count_kv") ?? nHeads);
  const ffnDim = positiveInt(key("feed_forward_length"), num("feed_forward_length"));
  const nCtxTrain = positiveInt(key("context_length"), num("context_length"));
  if (nHeads % nKvHeads !== 0) {
    throw new ModelError(`${key("attention.head_count")} (${nHeads}) must be a multiple of ${key("attention.head_count_kv")} (${nKvHeads})`);
  }
  // Heads may be wider or narrower than dim / nHeads (qwen3: key_length 128 at dim 1024 with 16 heads); only without
  // key_length is the head width derived from dim.
  const keyLength = num("attention.key_length");
  if (keyLength === undefined && dim % nHeads !== 0) {
    throw new ModelError(`${key("embedding_length")} (${dim}) must be a multiple of the head count (${nHeads})`);
  }
  const headDim = positiveInt(key("attention.key_length"), keyLength ?? dim / nHeads);
  const valueLength = num("attention.value_length") ?? headDim;
  if (valueLength !== headDim) throw new ModelError(`${key("attention.value_length")} (${valueLength}) differs from the key length (${headDim}); not supported`);
  const ropeDims = positiveInt(key("rope.dimension_count"), num("rope.dimension_count") ?? headDim);
  if (ropeDims > headDim || ropeDims % 2 !== 0) throw new ModelError(`${key("rope.dimension_count")} (${ropeDims}) must be even and at most the head size (${headDim})`);
  const ropeFreqBase = positiveFloat(key("rope.freq_base"), num("rope.freq_base") ?? 10000);
  const epsKey = key("attention.layer_norm_rms_epsilon");
  const eps = num("attention.layer_norm_rms_epsilon");
  if (eps === undefined) throw new ModelError(`missing metadata key ${epsKey}`);
  const rmsEps = positiveFloat(epsKey, eps);

  const scalingType = metaOptString(file, key("rope.scaling.type")) ?? "none";
  const ropeFreqFactors = file.tensorByName.has(ROPE_FREQS);
  let ropeFreqScale = 1;
  if (scalingType === "linear") {
    ropeFreqScale = 1 / positiveFloat(key("rope.scaling.factor"), num("rope.scaling.factor") ?? NaN);
  } else if (scalingType === "llama3") {
    // llama.cpp's converter bakes llama 3 scaling into the rope_freqs tensor; the metadata alone cannot express it.
    if (!ropeFreqFactors) throw new ModelError(`${key("rope.scaling.type")} is "llama3" but the file has no ${ROPE_FREQS} tensor`);
  } else if (scalingType !== "none") {
    throw new ModelError(`unsupported ${key("rope.scaling.type")} "${scalingType}": supported are "none", "linear" and "llama3"`);
  }

  const embd = file.tensorByName.get(TOKEN_EMBD);
  if (!embd) throw new ModelError(`missing tensor ${TOKEN_EMBD}`);
  const tokens = file.metadata.has("tokenizer.ggml.tokens") ? metaArray(file, "tokenizer.ggml.tokens").items.length : undefined;
  const vocabSize = positiveInt(key("vocab_size"), num("vocab_size") ?? tokens ?? embd.dims[1]);

  return Object.freeze({
    architecture: arch,
    traits: ARCHITECTURES[arch],
    name: metaOptString(file, "general.name") ?? metaString(file, "general.architecture"),
    dim,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    kvDim: nKvHeads * headDim,
    qDim: nHeads * headDim,
    ffnDim,
    nCtxTrain,
    ropeDims,
    ropeFreqBase,
    ropeFreqScale,
    ropeFreqFactors,
    rmsEps,
    vocabSize,
    tiedOutput: !file.tensorByName.has(OUTPUT),
  });
}
