// One session of N tokens served by the model host from an in-memory bucket: the host's figures, and what really lives at once.
import { kvBytesPerPosition, type KvType } from "../../src/backends/kv-format";
import { ModelHost } from "../../src/session/model-host";
import type { Env } from "../../src/env";

const MiB = 1 << 20;
/** Tokens per forward pass of a session's prefill (LlamaContext's default maxBatch). */
const PREFILL_BATCH = 32;

/** The R2 surface the model host reads (head, ranged get) over bytes in memory; records the largest range it served. */
export function memoryBucket(name: string, bytes: Uint8Array): { bucket: R2Bucket; largestRead: () => number; reads: () => number } {
  let largest = 0;
  let reads = 0;
  const bucket = {
    head: async (key: string) => (key === name ? { size: bytes.byteLength } : null),
    get: async (key: string, opts?: { range?: { offset: number; length: number } }) => {
      if (key !== name) return null;
      const { offset = 0, length = bytes.byteLength } = opts?.range ?? {};
      // A copy, as a response body is: the reader holds these bytes until it has packed them.
      const slice = bytes.slice(offset, offset + length);
      largest = Math.max(largest, slice.byteLength);
      reads++;
      return { size: bytes.byteLength, arrayBuffer: async () => slice.buffer };
    },
  } as unknown as R2Bucket;
  return { bucket, largestRead: () => largest, reads: () => reads };
}

export interface KvBudgetRow {
  readonly kvType: KvType;
  /** Set when the host refused the context (or the model): its message. */
  readonly refused?: string;
  readonly perTokenBytes?: number;
  readonly weightsBytes: number;
  readonly kvBytes?: number;
  readonly scratchBytes?: number;
  /** Wasm linear memory right after loading, and after the context's last token was evaluated (it never shrinks). */
  readonly loadedLinearBytes: number;
  readonly linearBytes?: number;
  /** The real size of the backend's wasm memory (the WebAssembly.Memory's buffer), read past the host. */
  readonly wasmMemoryBytes?: number;
  /** Every other ArrayBuffer reachable from the host and the model (found by walking them): JS-side buffers it holds. */
  readonly jsBuffersBytes?: number;
  /** The largest range read while loading: the most file bytes held in JS beside linear memory at once. */
  readonly largestReadBytes: number;
  readonly rangeReads: number;
  /** Loading peak: linear memory once loaded (it only grew while loading), the largest range in flight and the tokenizer. */
  readonly loadPeakBytes: number;
  /** Growth of the JS heap across loading (the tokenizer's and the model's objects), when `heapBytes` was given. */
  readonly jsHeapBytes?: number;
  /** The tokenizer's tables on the JS heap (Tokenizer.heapBytes), which the host counts beside linear memory. */
  readonly tokenizerBytes?: number;
  /** What the host counts against the budget (ModelHost.usedBytes). */
  readonly hostBytes?: number;
  readonly budgetBytes: number;
  readonly fits: boolean;
}

/**
 * A fresh host (a fresh isolate: wasm memory never shrinks) loads `bytes` as the Worker does, creates one context of
 * nCtx tokens with `kvType`, fills its first positions through writeKvBytes, evaluates a full prefill batch and then
 * the last token, so attention runs over the whole context and every buffer a session needs exists.
 */
export async function measureKvBudget(name: string, bytes: Uint8Array, kvType: KvType, nCtx: number, budgetMb: number, heapBytes?: () => number): Promise<KvBudgetRow> {
  const { bucket, largestRead, reads } = memoryBucket(name, bytes);
  const host = new ModelHost();
  const env = { MODELS: bucket, MODEL_NAME: name, BACKEND: "wasm", MEMORY_BUDGET_MB: String(budgetMb) } as unknown as Env;
  const budgetBytes = budgetMb * MiB;
  const heap0 = heapBytes?.();
  const model = await host.model(env);
  const heap1 = heapBytes?.();
  const loaded = model.backend.memory();
  const loadedLinearBytes = loaded.reservedBytes ?? 0;
  const base = {
    kvType,
    weightsBytes: loaded.weightsBytes,
    loadedLinearBytes,
    largestReadBytes: largestRead(),
    rangeReads: reads(),
    loadPeakBytes: loadedLinearBytes + largestRead() + model.tokenizer.heapBytes(),
    ...(heap0 !== undefined && heap1 !== undefined && { jsHeapBytes: heap1 - heap0 }),
    budgetBytes,
  };
  const owner = { idle: () => false, dropContext: () => {} };
  try {
    const ctx = host.createContext(env, model, owner, nCtx, kvType);
    const per = kvBytesPerPosition(ctx.cache.layout);
    const tokens = Array.from({ length: nCtx }, (_, i) => (i * 7919 + 1) % model.config.vocabSize);
    // A full prefill batch (its activation scratch is the largest), then the last token alone, as a session does.
    const batch = Math.min(PREFILL_BATCH, nCtx - 1);
    const restored = nCtx - 1 - batch;
    ctx.restore(tokens.slice(0, restored), restored, new Uint8Array(restored * per));
    ctx.evaluate(tokens.slice(restored, nCtx - 1));
    ctx.evaluate([tokens[nCtx - 1]!]);
    const m = model.backend.memory();
    const hostBytes = host.usedBytes(model);
    const wasmMemoryBytes = wasmMemoryOf(model.backend);
    const jsBuffersBytes = heldArrayBufferBytes([host, model]);
    return {
      ...base,
      perTokenBytes: per,
      kvBytes: m.kvBytes,
      scratchBytes: m.scratchBytes,
      linearBytes: m.reservedBytes ?? 0,
      ...(wasmMemoryBytes !== undefined && { wasmMemoryBytes }),
      jsBuffersBytes,
      tokenizerBytes: model.tokenizer.heapBytes(),
      hostBytes,
      fits: hostBytes <= budgetBytes && base.loadPeakBytes <= budgetBytes,
    };
  } catch (e) {
    return { ...base, refused: (e as Error).message, fits: false };
  } finally {
    host.release(owner);
  }
}

/**
 * Bytes of the ArrayBuffers reachable from `roots` through object properties, Maps and Sets, except WebAssembly
 * memories (counted as linear memory): what the host and the model hold in JS beside linear memory.
 */
export function heldArrayBufferBytes(roots: readonly object[]): number {
  const seen = new Set<unknown>();
  const buffers = new Set<ArrayBufferLike>();
  const wasm = new Set<ArrayBufferLike>();
  const stack: unknown[] = [...roots];
  while (stack.length > 0) {
    const o = stack.pop();
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
    seen.add(o);
    if (o instanceof WebAssembly.Memory) wasm.add(o.buffer);
    else if (ArrayBuffer.isView(o)) buffers.add(o.buffer);
    else if (o instanceof ArrayBuffer) buffers.add(o);
    else if (o instanceof Map) for (const [k, v] of o) stack.push(k, v);
    else if (o instanceof Set) for (const v of o) stack.push(v);
    else if (Array.isArray(o)) for (const v of o) stack.push(v);
    else for (const k of Object.getOwnPropertyNames(o)) stack.push(Object.getOwnPropertyDescriptor(o, k)?.value);
  }
  let n = 0;
  for (const b of buffers) if (!wasm.has(b)) n += b.byteLength;
  return n;
}

/** The byte length of the WebAssembly.Memory the wasm backend's kernels run in (undefined for other backends). */
function wasmMemoryOf(backend: object): number | undefined {
  const k = (backend as { k?: { memory?: unknown } }).k;
  return k?.memory instanceof WebAssembly.Memory ? k.memory.buffer.byteLength : undefined;
}
