// Per-isolate model host: loads the weights from R2 once (single-flight), keeps every session's KV cache inside the memory budget.
import { createBackendAsync } from "../backends/select";
import { LlamaContext } from "../engine/context";
import { kvBytesPerPosition } from "../engine/kv-pages";
import { LlamaModel } from "../engine/model";
import { metaOptString, readGguf } from "../gguf/index";
import { numberVar, type Env } from "./env";

const MiB = 1 << 20;

/** The model cannot be loaded or a context does not fit: a clear error instead of an isolate killed for memory. */
export class HostError extends Error {
  override readonly name = "HostError";
  constructor(
    message: string,
    readonly code: "model_not_found" | "memory_budget_exceeded" | "model_load_failed",
  ) {
    super(message);
  }
}

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
  private clock = 0;
  private readonly templates = new WeakMap<LlamaModel, string | undefined>();

  /** The model's `tokenizer.chat_template`, if its GGUF has one. */
  chatTemplate(model: LlamaModel): string | undefined {
    return this.templates.get(model);
  }

  /** The model of this isolate; concurrent first callers share one load, a failed load is retried by the next caller. */
  model(env: Env): Promise<LlamaModel> {
    const name = env.MODEL_NAME || "stories260K.gguf";
    const backend = env.BACKEND || "wasm";
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
    if (!head) throw new HostError(`model "${name}" is not in the MODELS bucket (npm run seed:r2 uploads the model directory)`, "model_not_found");
    // The file bytes plus the weights the backend builds from them (at most a copy of the same size): refuse before downloading.
    const estimate = 2 * head.size;
    if (estimate > budget) throw budgetError(`loading model "${name}" (${mib(head.size)} file, about ${mib(estimate)} with its weights)`, budget);
    const object = await env.MODELS.get(name);
    if (!object) throw new HostError(`model "${name}" disappeared from the MODELS bucket while loading`, "model_not_found");
    const bytes = new Uint8Array(await object.arrayBuffer());
    let model: LlamaModel;
    try {
      const file = readGguf(bytes);
      model = LlamaModel.load(file, await createBackendAsync(backendName));
      this.templates.set(model, metaOptString(file, "tokenizer.chat_template"));
    } catch (e) {
      throw new HostError(`model "${name}" could not be loaded: ${e instanceof Error ? e.message : String(e)}`, "model_load_failed");
    }
    const used = this.usedBytes(model);
    if (used > budget) throw budgetError(`model "${name}" takes ${mib(used)} once loaded`, budget);
    return model;
  }

  /** Bytes the isolate holds for the model: backend weights, scratch and caches, plus the file when the backend reads weights in place. */
  usedBytes(model: LlamaModel): number {
    const m = model.backend.memory();
    const file = model.backend.name === "ref" ? model.fileBytes : 0;
    return file + m.weightsBytes + m.kvBytes + m.scratchBytes;
  }

  /**
   * A new context for `owner`, if it fits in the budget; idle contexts of other sessions are dropped first, least
   * recently used first (their sessions restore from SQLite on their next request).
   */
  createContext(env: Env, model: LlamaModel, owner: ContextOwner, nCtx: number): LlamaContext {
    this.release(owner);
    const budget = budgetBytes(env);
    const c = model.config;
    const kv = kvBytesPerPosition({ nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim }) * nCtx;
    const need = kv + this.scratchPerContext;
    const idle = [...this.contexts].filter(([o]) => o.idle()).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    while (this.usedBytes(model) + need > budget && idle.length > 0) {
      const [o] = idle.shift()!;
      o.dropContext();
      this.release(o);
    }
    if (this.usedBytes(model) + need > budget) throw budgetError(`a context of ${nCtx} tokens (${mib(need)} of KV cache and buffers)`, budget);
    const before = model.backend.memory();
    const ctx = new LlamaContext(model, { nCtx });
    const after = model.backend.memory();
    this.scratchPerContext = Math.max(this.scratchPerContext, after.scratchBytes - before.scratchBytes);
    this.contexts.set(owner, { ctx, bytes: kv, lastUsed: ++this.clock });
    return ctx;
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

function budgetBytes(env: Env): number {
  return numberVar(env, "MEMORY_BUDGET_MB", 128) * MiB;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function budgetError(what: string, budget: number): HostError {
  return new HostError(`${what} does not fit in the memory budget of ${mib(budget)} (MEMORY_BUDGET_MB)`, "memory_budget_exceeded");
}

/** The isolate's host: module state, so every session object in the isolate shares one copy of the weights. */
export const host = new ModelHost();
