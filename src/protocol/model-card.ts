// The served model as GET /v1/model describes it, from the GGUF header alone (R2 range reads): the Worker never loads the weights.
import { kernelModules, pickBuild } from "../backends/wasm/kernel-modules";
import { configFromGguf, type LlamaConfig } from "../engine/config";
import { kvBytesPerPosition } from "../engine/kv-pages";
import { metaOptString, type GgufHeader } from "../gguf/index";
import { createTokenizer, type Tokenizer } from "../tokenizer/index";
import { backendSetting, budgetBytes, defaultNCtx, kvCacheType, modelName, type Env } from "../env";
import { estimatedWeightBytes, HEADER_RANGE_BYTES, loadFailure, modelMissing, readHeaderRanged } from "./model-file";

/**
 * What the header says, cached per model version: the parsed header itself (and the prefix it views) is not kept, but
 * the tokenizer built from its tokenizer.* keys is, so /tokenize runs where the vocabulary is without the weights. Its
 * heap, measured in Node: 2.6 MB for a 32k SentencePiece vocabulary, 6.7 MB for SmolLM2's 49k BPE, 21.5 MB for
 * Qwen2's 152k; one model version per isolate is cached, so that is the bound.
 */
export interface HeaderFacts {
  readonly fileBytes: number;
  readonly config: LlamaConfig;
  /** tokenizer.chat_template, when the GGUF has one. */
  readonly chatTemplate: string | undefined;
  readonly tokenizer: Tokenizer;
  /** Weights a copying backend (wasm) holds once loaded: the estimate the loader checks the budget with. */
  readonly copiedWeightsBytes: number;
}

/**
 * Memory figures are arithmetic on the header, not measurements: the Worker's isolate holds no model, and a session
 * object's isolate (which does) may be anywhere. They say what an isolate needs to serve one session at the
 * default context, which is what an operator sizes MEMORY_BUDGET_MB by.
 */
export interface ModelMemory {
  readonly budgetBytes: number;
  /** weightsBytes + kvBytes + scratchBytes. */
  readonly usedBytes: number;
  /** The weights once loaded: the file for ref (it reads them in place), the loader's estimate for wasm. */
  readonly weightsBytes: number;
  /** The KV cache of one session at defaultNCtx, in the type KV_CACHE_TYPE gives new sessions. */
  readonly kvBytes: number;
  /** A forward pass's run buffers (llama2.c's RunState: activations, attention scores, logits), in float32. */
  readonly scratchBytes: number;
}

export interface ModelCard {
  readonly fileBytes: number;
  readonly config: LlamaConfig;
  readonly chatTemplate: string | undefined;
  /** The vocabulary's tokenizer (encode, decode, end-of-generation set), built from the header alone. */
  readonly tokenizer: Tokenizer;
  readonly backendSetting: string;
  /** The backend a session object runs: "wasm" resolved to the build this runtime validates. */
  readonly backend: string;
  readonly defaultNCtx: number;
  readonly memory: ModelMemory;
}

/** One model version per isolate: keyed by name, etag and size, so a replaced file is read again. */
let cached: { readonly key: string; readonly facts: Promise<HeaderFacts> } | null = null;

/**
 * The card of MODEL_NAME: one HEAD request each time (to notice a replaced file), range reads of the header only
 * when this isolate has not read this version yet. HostError when the file is missing or not a model this engine runs.
 */
export async function modelCard(env: Env): Promise<ModelCard> {
  const name = modelName(env);
  const head = await env.MODELS.head(name);
  if (!head) throw modelMissing(name);
  const key = `${name}|${head.etag}|${head.size}`;
  if (cached?.key !== key) {
    const facts = readFacts(env.MODELS, name, head.size);
    cached = { key, facts };
    // A failed read is not kept: the next request tries again.
    facts.catch(() => {
      if (cached?.facts === facts) cached = null;
    });
  }
  const facts = await cached.facts;
  const setting = backendSetting(env);
  const nCtx = defaultNCtx(env, facts.config.nCtxTrain);
  return { ...facts, backendSetting: setting, backend: resolvedBackend(setting), defaultNCtx: nCtx, memory: memoryOf(env, facts, setting, nCtx) };
}

async function readFacts(bucket: R2Bucket, name: string, size: number): Promise<HeaderFacts> {
  try {
    const header = await readHeaderRanged(bucket, name, size, HEADER_RANGE_BYTES);
    return factsOf(header, size);
  } catch (e) {
    throw loadFailure(name, e); // the codes a session object reports when it cannot load the model
  }
}

/** The facts of a parsed header (exported for tests). Throws what the model loader would (a malformed vocabulary...). */
export function factsOf(header: GgufHeader, size: number): HeaderFacts {
  return {
    fileBytes: size,
    config: configFromGguf(header),
    chatTemplate: metaOptString(header, "tokenizer.chat_template"),
    tokenizer: createTokenizer(header),
    copiedWeightsBytes: estimatedWeightBytes(header),
  };
}

/** The served model's tokenizer, from the header cached per model version (HostError as modelCard). */
export async function modelTokenizer(env: Env): Promise<Tokenizer> {
  return (await modelCard(env)).tokenizer;
}

/**
 * The backend a session object creates for `setting`. "wasm" picks the relaxed-SIMD build where the runtime validates
 * it, else SIMD128; the session objects run on the same runtime as this Worker, so the same probe gives the same
 * answer. Other names are the backend's own name already.
 */
export function resolvedBackend(setting: string): string {
  if (setting !== "wasm") return setting;
  try {
    return `wasm-${pickBuild(kernelModules())}`;
  } catch {
    return setting; // no kernels registered (not a Worker build): report the setting rather than guess
  }
}

function memoryOf(env: Env, facts: HeaderFacts, setting: string, nCtx: number): ModelMemory {
  const c = facts.config;
  const weightsBytes = setting === "ref" ? facts.fileBytes : facts.copiedWeightsBytes;
  // The KV type a new session gets (KV_CACHE_TYPE; q8_0 on heads that are not whole 32-blocks stores f16).
  const configured = kvCacheType(env, modelName(env));
  const type = configured === "q8_0" && c.headDim % 32 !== 0 ? "f16" : configured;
  const kvBytes = kvBytesPerPosition({ nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim, type }) * nCtx;
  const scratchBytes = 4 * (3 * c.dim + 2 * c.ffnDim + c.qDim + 2 * c.kvDim + c.nHeads * nCtx + c.vocabSize);
  return { budgetBytes: budgetBytes(env), usedBytes: weightsBytes + kvBytes + scratchBytes, weightsBytes, kvBytes, scratchBytes };
}
