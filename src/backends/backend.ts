// The Backend interface: every op the forward pass needs, over opaque buffers the backend owns (JS arrays, wasm memory, GPU buffers).
import type { KvType } from "./kv-format";

/**
 * Handles are opaque: a backend hands them out and only accepts its own. The ref backend wraps
 * Float32Arrays, the wasm backends hold offsets into their module's linear memory, the webgpu backend GPUBuffers.
 * Nothing crosses the JS/backend boundary per token except token ids in and logits out (`read`), or, for a greedy
 * step, the pick alone (`argmax`).
 */
export interface Buffer {
  /** Capacity in float32 elements. */
  readonly length: number;
}

/** A weight matrix [rows × cols] in its stored (possibly quantized) form; cols is the contiguous row length. */
export interface Matrix {
  readonly name: string;
  readonly type: number;
  readonly rows: number;
  readonly cols: number;
}

/** A float vector held by the backend (norm weights). */
export interface Vector {
  readonly name: string;
  readonly length: number;
}

/** Shape of one session's KV cache. Layout per layer, then K and V, then position, then KV head, then head dim. */
export interface KvLayout {
  readonly nLayers: number;
  readonly nCtx: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** How each element is stored (see kv-format.ts); f32 when absent. */
  readonly type?: KvType;
}

/** One session's KV cache, owned by the backend. */
export interface KvCache {
  readonly layout: KvLayout;
}

/** Attention geometry for one layer's call. */
export interface AttentionShape {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
}

/**
 * Which elements of a head RoPE rotates together: "norm" pairs (2i, 2i+1) (llama); "neox" pairs (i, i + ropeDims/2)
 * (qwen2, qwen3: GPT-NeoX's half-split layout). Pair i turns by the same angle in both.
 */
export type RopeStyle = "norm" | "neox";

/** RoPE parameters. */
export interface RopeParams {
  readonly nHeads: number;
  readonly headDim: number;
  /** Leading dimensions of each head that are rotated (llama: all of them). */
  readonly ropeDims: number;
  readonly freqBase: number;
  /** Position multiplier: 1 / linear scaling factor. */
  readonly freqScale: number;
  /** Pair layout; "norm" when absent. */
  readonly style?: RopeStyle;
  /**
   * Per-pair divisors of the angle (ropeDims/2 floats: llama 3's rope_freqs tensor); none when absent. Host floats, the
   * one copy of them: the webgpu backend folds them into the angle table it builds on the host, and a backend whose
   * kernels read them from its own memory copies them there once per array. Never modified after the first call.
   */
  readonly freqFactors?: Float32Array;
}

/** A matrix being loaded in chunks of whole rows (Backend.beginMatrix). */
export interface MatrixSink {
  /** The file bytes of rows row0.., in order; chunks start on a multiple of Backend.matrixRowGroup rows. */
  write(row0: number, bytes: Uint8Array): void;
  /** The matrix, once every row was written. */
  finish(): Matrix;
  /** Frees what was allocated (a load that failed midway). */
  abandon(): void;
}

/** Bytes a backend holds, so the Worker can enforce its memory budget. */
export interface BackendMemory {
  readonly weightsBytes: number;
  readonly kvBytes: number;
  readonly scratchBytes: number;
  /** Memory the backend holds from the runtime, live or not (wasm: all of linear memory, which never shrinks). */
  readonly reservedBytes?: number;
}

export interface Backend {
  /** Stable name: "ref", "wasm-simd128", "wasm-relaxed", "webgpu". */
  readonly name: string;
  /** Weight types `loadMatrix` accepts. */
  supportsWeightType(type: number): boolean;

  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix;
  /**
   * Optional: a matrix received in row chunks (ranged loading), each repacked into place as it arrives, so no
   * whole-tensor copy exists outside the backend. Same checks and errors as loadMatrix.
   */
  beginMatrix?(name: string, type: number, rows: number, cols: number): MatrixSink;
  /** With beginMatrix: chunks start on a multiple of this many rows, and only the last may hold fewer. */
  readonly matrixRowGroup?: number;
  loadVector(name: string, data: Float32Array): Vector;
  createBuffer(length: number): Buffer;
  createKvCache(layout: KvLayout): KvCache;
  /** Releases a buffer or KV cache (a no-op where the garbage collector owns memory). */
  release(handle: Buffer | KvCache): void;

  /** Copies `data` into `dst` starting at element `dstOffset`. */
  write(dst: Buffer, data: Float32Array, dstOffset?: number): void;
  /** Copies `n` elements from `src` starting at `srcOffset` out to JS. */
  read(src: Buffer, srcOffset: number, n: number): Float32Array;
  /** dst[dstOffset + i] = src[srcOffset + i] for i < n. */
  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void;

  /** out[t, :] = row tokens[t] of `table` (dequantized), for each t. */
  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void;
  /** out[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight, for t < nTokens rows of weight.length. */
  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void;
  /** out[t, r] = sum_c w[r, c] * x[t, c]: matrix-vector (nTokens = 1) and matrix-matrix (prefill). */
  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void;
  /**
   * In place: rotates pair i (see RopeStyle) of each head of x[t, :] by angle
   * pos * freqScale * freqBase^(-2i/ropeDims) / freqFactors[i], pos = pos0 + t.
   */
  rope(x: Buffer, nTokens: number, pos0: number, params: RopeParams): void;
  /** Writes k[t, :], v[t, :] into `layer` of the cache at positions pos0 + t, converted to the cache's type. */
  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void;
  /**
   * Causal attention of queries q[t, :] (position pos0 + t) over the cache positions 0..pos0+t of `layer`.
   * Query head h reads KV head floor(h / (nHeads / nKvHeads)) (GQA). Scores scaled by 1/sqrt(headDim).
   * On an f16 or q8_0 cache the query is first rounded as the K type's dot product takes it (kv-format roundQuery),
   * and the stored K and V are used as their exact float values.
   */
  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void;
  /** In place softmax over each of `rows` consecutive rows of length `len`. */
  softmax(x: Buffer, rows: number, len: number): void;
  /** out[i] = silu(gate[i]) * up[i] for i < n. */
  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void;
  /** out[i] = a[i] + b[i] for i < n (out may alias a). */
  add(out: Buffer, a: Buffer, b: Buffer, n: number): void;
  /**
   * Optional: the residual add and the next norm in one call, the bits of add(x, x, b, nTokens · weight.length) then
   * rmsnorm(out, x, weight, nTokens, eps) (x keeps the sums). The forward pass issues those two ops where it is absent.
   */
  addRmsnorm?(x: Buffer, b: Buffer, out: Buffer, weight: Vector, nTokens: number, eps: number): void;
  /** In place: x[t, j] += bias[j] for t < nTokens rows of bias.length (qwen2's q/k/v projection biases). */
  addBias(x: Buffer, bias: Vector, nTokens: number): void;

  /** Positions [pos0, pos0 + n) of every layer's K and V, as [layer][k|v][pos][kvDim] floats (for persistence). */
  readKv(cache: KvCache, pos0: number, n: number): Float32Array;
  /** The inverse of readKv: restores positions [pos0, pos0 + n) from that layout (converted to the cache's type). */
  writeKv(cache: KvCache, pos0: number, n: number, data: Float32Array): void;
  /**
   * Positions [pos0, pos0 + n) as the stored bytes, [layer][k|v][pos][kvRowBytes(type, kvDim)] (for f32 the bytes of
   * readKv): what KV pages hold, so an f16 or q8_0 cache persists and restores exactly, never through floats.
   */
  readKvBytes(cache: KvCache, pos0: number, n: number): Uint8Array;
  /** The inverse of readKvBytes. */
  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void;

  memory(): BackendMemory;

  /**
   * Backends whose results live on a device (webgpu) read back asynchronously: they implement these, and their
   * synchronous `read` / `readKv` throw. The engine's async paths (LlamaContext.nextLogitsAsync) use them when present.
   */
  readAsync?(src: Buffer, srcOffset: number, n: number): Promise<Float32Array>;
  readKvAsync?(cache: KvCache, pos0: number, n: number): Promise<Float32Array>;
  readKvBytesAsync?(cache: KvCache, pos0: number, n: number): Promise<Uint8Array>;

  /** Bumped when the backend moved to another device and every KV cache lost its contents (webgpu failover). */
  readonly generation?: number;
  /** Called with a forward pass's error: resolves true when the backend recovered from it (the caller retries). */
  recover?(error: unknown): Promise<boolean>;

  /**
   * Optional: the sampler's greedy pick over the `n` floats of `src` from `srcOffset`, without reading them out (NaN
   * ranks as -Infinity, +Infinity as the largest float, ties to the lowest index): the index (relative to srcOffset)
   * and its value so mapped, or index -1 when none is finite. The engine reads the row and picks in TS when absent.
   */
  argmax?(src: Buffer, srcOffset: number, n: number): { readonly index: number; readonly value: number };
}

/** Floats of one position across all layers (K and V) in the readKv/writeKv layout. */
export function kvFloatsPerPosition(layout: KvLayout): number {
  return layout.nLayers * 2 * layout.nKvHeads * layout.headDim;
}
