// Per-isolate model host: loads the weights from R2 once (single-flight), keeps every session's KV cache inside the memory budget.
import { createBackendAsync } from "../backends/select";
import { LlamaContext } from "../engine/context";
import type { KvType } from "../backends/kv-format";
import { typedScoresBytes } from "../backends/wasm/typed-attention";
import { f32ScoresBytes } from "../backends/wasm/attention-scratch";
import { kvBytesPerPosition } from "../engine/kv-pages";
import { LlamaModel } from "../engine/model";
import { largestReadBytes } from "../engine/weights";
import { metaOptString, readGguf, type GgufFile } from "../gguf/index";
import type { Backend } from "../backends/backend";
import { backendSetting, budgetBytes, modelName, type Env } from "../env";
import { HostError } from "../protocol/errors";
import { HEADER_RANGE_BYTES, estimatedWeightBytes, loadFailure, modelMissing, readHeaderRanged, readRange } from "../protocol/model-file";

const MiB = 1 << 20;

/** A session object holding a context the host may take back when memory is short (it restores from its pages later). */
export interface ContextOwner {
  /** True while the owner is not generating, so its context can be dropped. */
  idle(): boolean;
  /** Forget the in-memory context (the owner already persisted everything it needs). */
  dropContext(): void;
}

interface Held {
  readonly ctx: LlamaContext;
  readonly bytes: number;
  lastUsed: number;
}

export class ModelHost {
  private loading: Promise<LlamaModel> | null = null;
  private key = "";
  private readonly contexts = new Map<ContextOwner, Held>();
  /** Run buffers of one context, measured on the first one (the backend reports them as scratch). */
  private scratchPerContext = 0;
  /** The largest typed-cache decode scratch a context of this isolate may have grown (see decodeScratch). */
  private decodeScratchBytes = 0;
  private clock = 0;
  private readonly templates = new WeakMap<LlamaModel, string | undefined>();
  /** The R2 etag of the file each model was loaded from (the prompt cache's identity of the weights actually served). */
  private readonly etags = new WeakMap<LlamaModel, string>();

  /** `headerRangeBytes`: the first range read for a model's header (it grows while the header does not fit). */
  constructor(private readonly headerRangeBytes = HEADER_RANGE_BYTES) {}

  /** The model's `tokenizer.chat_template`, if its GGUF has one. */
  chatTemplate(model: LlamaModel): string | undefined {
    return this.templates.get(model);
  }

  /** The R2 etag of the file this isolate loaded `model` from (undefined for a model loaded elsewhere). */
  etagOf(model: LlamaModel): string | undefined {
    return this.etags.get(model);
  }

  /** Records the chat template of a model loaded elsewhere (a sharded model's header-only model, src/shard). */
  rememberTemplate(model: LlamaModel, template: string | undefined): void {
    this.templates.set(model, template);
  }

  /** The model of this isolate; concurrent first callers share one load, a failed load is retried by the next caller. */
  model(env: Env): Promise<LlamaModel> {
    const name = modelName(env);
    const backend = backendSetting(env);
    const key = `${name}|${backend}`;
    if (this.loading && this.key === key) return this.loading;
    this.key = key;
    const p = this.load(env, name, backend);
    this.loading = p;
    p.catch(() => {
      if (this.loading === p) this.loading = null;
    });
    return p;
  }

  private async load(env: Env, name: string, backendName: string): Promise<LlamaModel> {
    const budget = budgetBytes(env);
    const head = await env.MODELS.head(name);
    if (!head) throw modelMissing(name);
    const backend = await loading(name, () => createBackendAsync(backendName));
    // ref reads the weights in place from the file bytes; the other backends copy them, so they load in ranges.
    const model = backend.name === "ref" ? await this.loadWhole(env, name, head.size, backend, budget) : await this.loadRanged(env, name, head.size, backend, budget);
    const used = this.usedBytes(model);
    if (used > budget) throw budgetError(`model "${name}" takes ${mib(used)} once loaded`, budget);
    this.etags.set(model, head.etag);
    return model;
  }

  /** The whole file in memory, kept by the backend: refused before downloading unless the file and its weights fit. */
  private async loadWhole(env: Env, name: string, size: number, backend: Backend, budget: number): Promise<LlamaModel> {
    // The file bytes plus the weights the backend builds from them (at most a copy of the same size).
    const estimate = 2 * size;
    if (estimate > budget) throw budgetError(`loading model "${name}" (${mib(size)} file, about ${mib(estimate)} with its weights)`, budget);
    const object = await env.MODELS.get(name);
    if (!object) throw new HostError(`model "${name}" disappeared from the MODELS bucket while loading`, "model_not_found");
    const bytes = new Uint8Array(await object.arrayBuffer());
    return loading(name, () => this.withTemplate(readGguf(bytes), (file) => LlamaModel.load(file, backend)));
  }

  /**
   * The header, then tensor by tensor (matrices in chunks of a few MB where the backend repacks chunks into place): the
   * isolate holds the weights plus at most the largest single read, which is checked against the budget once the
   * header is read, before any tensor is downloaded.
   */
  private async loadRanged(env: Env, name: string, size: number, backend: Backend, budget: number): Promise<LlamaModel> {
    const header = await loading(name, () => readHeaderRanged(env.MODELS, name, size, this.headerRangeBytes));
    const weights = estimatedWeightBytes(header);
    const largest = largestReadBytes(header, backend.matrixRowGroup);
    if (weights + largest > budget) {
      throw budgetError(`loading model "${name}" (about ${mib(weights)} of weights, plus ${mib(largest)} for its largest read while loading)`, budget);
    }
    const fetch = (offset: number, length: number) => readRange(env.MODELS, name, offset, length);
    return loading(name, () => this.withTemplate(header, (file) => LlamaModel.loadStreaming(file, fetch, backend)));
  }

  /** Loads a model and remembers its chat template (the template comes from the header's metadata). */
  private async withTemplate<F extends GgufFile>(file: F, load: (file: F) => LlamaModel | Promise<LlamaModel>): Promise<LlamaModel> {
    const model = await load(file);
    this.templates.set(model, metaOptString(file, "tokenizer.chat_template"));
    return model;
  }

  /**
   * Bytes the isolate holds for the model: what the backend reserved (wasm memory never shrinks) or, if more, its live
   * allocations, plus the tokenizer's tables on the JS heap (the isolate's limit counts the heap too).
   */
  usedBytes(model: LlamaModel): number {
    return Math.max(this.backendLiveBytes(model), model.backend.memory().reservedBytes ?? 0) + model.tokenizer.heapBytes();
  }

  /** Live allocations: the backend's and the tokenizer's. */
  private liveBytes(model: LlamaModel): number {
    return this.backendLiveBytes(model) + model.tokenizer.heapBytes();
  }

  /** Backend weights, scratch and caches, plus the file when the backend reads weights in place. */
  private backendLiveBytes(model: LlamaModel): number {
    const m = model.backend.memory();
    const file = model.backend.name === "ref" ? model.fileBytes : 0;
    return file + m.weightsBytes + m.kvBytes + m.scratchBytes;
  }

  /**
   * A new context for `owner`, if it fits in the budget; idle contexts of other sessions are dropped first, least
   * recently used first (their sessions restore from SQLite on their next request). Its KV cache counts at its
   * type's size (f16 half of f32, q8_0 34/128), plus, for a typed cache, the f32 planes attention decodes one KV head
   * into (wasm; shared by the isolate's contexts, counted here because the first forward pass allocates them).
   */
  createContext(env: Env, model: LlamaModel, owner: ContextOwner, nCtx: number, kvType: KvType = "f32"): LlamaContext {
    this.release(owner);
    const budget = budgetBytes(env);
    const kv = kvBytesPerPosition(kvLayout(model, nCtx, kvType)) * nCtx;
    const need = kv + this.scratchPerContext + this.decodeScratch(model, nCtx, kvType);
    const idle = [...this.contexts].filter(([o]) => o.idle()).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    // Live allocations decide: space a dropped context frees is reused by the allocator, though wasm memory never shrinks.
    while (this.liveBytes(model) + need > budget && idle.length > 0) {
      const [o] = idle.shift()!;
      o.dropContext();
      this.release(o);
    }
    const refuse = () => budgetError(`a context of ${nCtx} tokens (${mib(need)} of KV cache and buffers)`, budget);
    if (this.liveBytes(model) + need > budget) throw refuse();
    const before = model.backend.memory();
    const ctx = new LlamaContext(model, { nCtx, kvType });
    const after = model.backend.memory();
    // Fragmentation can make the runtime memory outgrow the live count, and the first passes still allocate the decode
    // attention's tile scores and the kernels' scratch: refuse rather than run past the budget.
    const pending = this.decodeScratch(model, nCtx, kvType) + passScratchBound(model, nCtx);
    if ((after.reservedBytes ?? 0) + model.tokenizer.heapBytes() + pending > budget) {
      ctx.dispose();
      throw refuse();
    }
    this.scratchPerContext = Math.max(this.scratchPerContext, after.scratchBytes - before.scratchBytes);
    this.decodeScratchBytes = Math.max(this.decodeScratchBytes, decodePlanes(model, nCtx, kvType));
    this.contexts.set(owner, { ctx, bytes: kv, lastUsed: ++this.clock });
    return ctx;
  }

  /** Bytes a typed cache's attention still has to allocate: a tile of tokens' scores, unless an earlier context grew them. */
  private decodeScratch(model: LlamaModel, nCtx: number, kvType: KvType): number {
    return Math.max(0, decodePlanes(model, nCtx, kvType) - this.decodeScratchBytes);
  }

  /** Marks the owner's context as recently used. */
  touch(owner: ContextOwner): void {
    const held = this.contexts.get(owner);
    if (held) held.lastUsed = ++this.clock;
  }

  /** Frees the owner's context, if it holds one. */
  release(owner: ContextOwner): void {
    const held = this.contexts.get(owner);
    if (!held) return;
    this.contexts.delete(owner);
    held.ctx.dispose();
  }
}

/** Tokens per forward pass of a context's prefill (LlamaContext's default maxBatch, which sessions use). */
const PREFILL_BATCH = 32;

/**
 * The most a copying backend's kernels allocate as scratch for a pass of PREFILL_BATCH tokens in a context of nCtx
 * (wasm: activations quantized to Q8_0/Q8_K or rounded to f16 for the widest matmul input, the attention scores of
 * every head (at least a KV group's on a typed cache), the RoPE table, the rounded query and its Q8_0 copy, token ids). Scratch areas are shared by the
 * isolate's contexts and sized exactly to their largest call, so once allocated they are in the live count too; the
 * bound is added before a new context's first pass, when they may not exist yet.
 */
function passScratchBound(model: LlamaModel, nCtx: number): number {
  if (model.backend.name === "ref") return 0;
  const c = model.config;
  const n = PREFILL_BATCH * Math.max(c.dim, c.qDim, c.ffnDim);
  const act = n * 3 + (n / 32) * 12 + n * 2 + Math.ceil(n / 256) * 116 + n * 4;
  const q = PREFILL_BATCH * c.qDim;
  return act + f32ScoresBytes(c.nHeads, nCtx) + PREFILL_BATCH * c.ropeDims * 8 + q * 4 + Math.ceil(q / 32) * 34 + PREFILL_BATCH * 4;
}

/** The KV layout of a context of `nCtx` tokens of `model` whose cache stores `type`. */
function kvLayout(model: LlamaModel, nCtx: number, type: KvType) {
  const c = model.config;
  return { nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim, type };
}

/** Runs one loading step; any failure becomes model_load_failed, naming the model. */
async function loading<T>(name: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw loadFailure(name, e);
  }
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Bytes of the scores a batch's attention on a typed cache takes for its tile of tokens (wasm only; none for f32 or ref). */
function decodePlanes(model: LlamaModel, nCtx: number, kvType: KvType): number {
  return kvType === "f32" || model.backend.name === "ref" ? 0 : typedScoresBytes(kvType, nCtx, model.config.nHeads / model.config.nKvHeads);
}

function budgetError(what: string, budget: number): HostError {
  return new HostError(`${what} does not fit in the memory budget of ${mib(budget)} (MEMORY_BUDGET_MB)`, "memory_budget_exceeded");
}

/** The isolate's host: module state, so every session object in the isolate shares one copy of the weights. */
export const host = new ModelHost();
