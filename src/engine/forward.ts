// The llama forward pass over a batch of tokens: one readable function, one comment per step (after llama2.c's run.c).
import type { AttentionShape, Backend, Buffer, KvCache, Matrix, RopeParams, Vector } from "../backends/backend";
import type { LlamaConfig } from "./config";
import type { LayerWeights, ModelWeights } from "./weights";

/** Activation buffers for up to `maxBatch` tokens, allocated once per context and reused for every call. */
export interface RunBuffers {
  readonly maxBatch: number;
  readonly x: Buffer; // [maxBatch × dim]      residual stream
  readonly xb: Buffer; // [maxBatch × dim]     normalised input of a sub-block
  readonly q: Buffer; // [maxBatch × qDim]     queries
  readonly k: Buffer; // [maxBatch × kvDim]    keys of the new positions
  readonly v: Buffer; // [maxBatch × kvDim]    values of the new positions
  readonly att: Buffer; // [maxBatch × qDim]   attention output (heads concatenated)
  readonly proj: Buffer; // [maxBatch × dim]   output of attn_output / ffn_down
  readonly gate: Buffer; // [maxBatch × ffnDim] ffn_gate output, then silu(gate) * up
  readonly up: Buffer; // [maxBatch × ffnDim]  ffn_up output
  readonly last: Buffer; // [maxBatch × dim]   final-normed rows that get logits
  /** [logitsRows × width]: rows that get logits in one pass; grown (recordHead) when a pass wants more. */
  logits: Buffer;
  logitsRows: number;
}

/**
 * `parts` sizes the buffers of a shard that runs only some of the pass: without layers the layer activations shrink to
 * one float, and `logitsWidth` is the number of classifier rows it holds (the vocabulary for the whole model).
 * `logitsRows`: rows of logits held from the start (default maxBatch). A context that wants only the last token's
 * logits passes 1: maxBatch rows of a 49152-token vocabulary are 6.3 MB of an isolate's budget, used only by passes
 * asking for every row's logits, which grow the buffer then.
 */
export function createRunBuffers(
  backend: Backend,
  c: LlamaConfig,
  maxBatch: number,
  parts: { layers: boolean; logitsWidth: number } = { layers: true, logitsWidth: c.vocabSize },
  logitsRows = maxBatch,
): RunBuffers {
  const full = (n: number) => backend.createBuffer(maxBatch * n);
  const b = (n: number) => (parts.layers ? full(n) : backend.createBuffer(1));
  return {
    maxBatch,
    x: full(c.dim),
    xb: b(c.dim),
    q: b(c.qDim),
    k: b(c.kvDim),
    v: b(c.kvDim),
    att: b(c.qDim),
    proj: b(c.dim),
    gate: b(c.ffnDim),
    up: b(c.ffnDim),
    last: full(c.dim),
    logits: backend.createBuffer(logitsRows * Math.max(1, parts.logitsWidth)),
    logitsRows,
  };
}

/**
 * Runs `tokens` (at most maxBatch) at positions pos0.. through the model, appending their K/V to the cache.
 * Returns the logits of the last token, or of every token when `allLogits` ([nTokens × vocab]); nothing when
 * `head` is false (a prompt's batch before its last: only its K/V are wanted).
 */
export function forwardBatch(
  backend: Backend,
  c: LlamaConfig,
  w: ModelWeights,
  s: RunBuffers,
  cache: KvCache,
  tokens: readonly number[],
  pos0: number,
  allLogits: boolean,
  head = true,
): Float32Array {
  const rows = recordForward(backend, c, w, s, cache, tokens, pos0, allLogits, head); // named arguments: no rest array per pass
  return rows === 0 ? NO_LOGITS : backend.read(s.logits, 0, rows * c.vocabSize);
}

/** forwardBatch for backends that read back asynchronously (Backend.readAsync: webgpu); the same ops, one readback. */
export async function forwardBatchAsync(...args: Parameters<typeof recordForward>): Promise<Float32Array> {
  const [backend, c, , s] = args;
  const n = recordForward(...args) * c.vocabSize;
  if (n === 0) return NO_LOGITS;
  return backend.readAsync ? backend.readAsync(s.logits, 0, n) : backend.read(s.logits, 0, n);
}

/** What a pass that reads no logits returns: no rows (a headless pass; LlamaContext's record-only pass). */
export const NO_LOGITS = new Float32Array(0);

/**
 * Issues every op of the forward pass (a device backend records them); returns how many logits rows it produced.
 * `head` false skips the final norm and the classifier (0 rows): as llama.cpp computes logits only for the tokens
 * that ask for them, a long prompt's earlier batches need only their K/V, and the classifier is the largest matmul
 * of many models (a vocabulary of 49,152 to 151,936 rows).
 */
export function recordForward(
  backend: Backend,
  c: LlamaConfig,
  w: ModelWeights,
  s: RunBuffers,
  cache: KvCache,
  tokens: readonly number[],
  pos0: number,
  allLogits: boolean,
  head = true,
): number {
  const n = tokens.length;
  recordEmbed(backend, w.tokenEmbd, s, tokens);
  recordLayers(backend, c, w.layers, w.ropeFreqs, s, cache, n, pos0);
  return head ? recordHead(backend, c, w.outputNorm, w.output, s, n, allLogits) : 0;
}

/** Token embeddings into the residual stream (`table` may be a row slice starting at token id `firstRow`). */
export function recordEmbed(backend: Backend, table: Matrix, s: RunBuffers, tokens: readonly number[], firstRow = 0): void {
  backend.embed(s.x, table, firstRow === 0 ? tokens : tokens.map((t) => t - firstRow));
}

/**
 * The transformer layers `layers` over the n rows of the residual stream at positions pos0..; cache layer i holds
 * layers[i]'s keys and values (a shard's cache covers only its own layers).
 */
export function recordLayers(backend: Backend, c: LlamaConfig, layers: readonly LayerWeights[], ropeFreqs: Float32Array | undefined, s: RunBuffers, cache: KvCache, n: number, pos0: number): void {
  const { ropeQ, ropeK, shape } = layerParams(c, ropeFreqs); // made once per model, not per pass
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l]!;
    // Attention block: RMSNorm (after layer 0, the previous layer's addNorm did it), then Q/K/V projections.
    if (l === 0) backend.rmsnorm(s.xb, s.x, layer.attnNorm, n, c.rmsEps);
    backend.matmul(s.q, layer.wq, s.xb, n);
    backend.matmul(s.k, layer.wk, s.xb, n);
    backend.matmul(s.v, layer.wv, s.xb, n);
    // qwen2: projection biases.
    if (layer.bq) backend.addBias(s.q, layer.bq, n);
    if (layer.bk) backend.addBias(s.k, layer.bk, n);
    if (layer.bv) backend.addBias(s.v, layer.bv, n);
    // qwen3: every query and key head RMS-normalised on its own (rows of headDim).
    if (layer.qNorm) backend.rmsnorm(s.q, s.q, layer.qNorm, n * c.nHeads, c.rmsEps);
    if (layer.kNorm) backend.rmsnorm(s.k, s.k, layer.kNorm, n * c.nKvHeads, c.rmsEps);
    // Rotary position embedding of queries and keys (relative position enters through the rotation).
    backend.rope(s.q, n, pos0, ropeQ);
    backend.rope(s.k, n, pos0, ropeK);
    // Append this batch's keys and values to the cache, then attend causally over everything cached.
    backend.storeKv(cache, l, pos0, n, s.k, s.v);
    backend.attention(s.att, s.q, cache, l, pos0, n, shape);
    // Output projection and residual connection; then the feed-forward block's RMSNorm.
    backend.matmul(s.proj, layer.wo, s.att, n);
    addNorm(backend, c, s, layer.ffnNorm, n);

    // Feed-forward block: SwiGLU (silu(gate) * up), down projection, residual (and the next layer's RMSNorm).
    backend.matmul(s.gate, layer.wGate, s.xb, n);
    backend.matmul(s.up, layer.wUp, s.xb, n);
    backend.swiglu(s.gate, s.gate, s.up, n * c.ffnDim);
    backend.matmul(s.proj, layer.wDown, s.gate, n);
    const next = layers[l + 1];
    if (next) addNorm(backend, c, s, next.attnNorm, n);
    else backend.add(s.x, s.x, s.proj, n * c.dim);
  }
}

/** The residual add that closes a block and the RMSNorm that opens the next: one op where the backend has it. */
function addNorm(backend: Backend, c: LlamaConfig, s: RunBuffers, weight: Vector, n: number): void {
  if (backend.addRmsnorm) backend.addRmsnorm(s.x, s.proj, s.xb, weight, n, c.rmsEps);
  else {
    backend.add(s.x, s.x, s.proj, n * c.dim);
    backend.rmsnorm(s.xb, s.x, weight, n, c.rmsEps);
  }
}

/** The rope parameters of queries and keys and the attention shape of a config (with its rope_freqs, if any). */
interface LayerParams {
  readonly ropeFreqs: Float32Array | undefined;
  readonly ropeQ: RopeParams;
  readonly ropeK: RopeParams;
  readonly shape: AttentionShape;
}

/** LayerParams per config, made on a model's first pass: every later pass (a decode step) reuses them. */
const layerParamsOf = new WeakMap<LlamaConfig, LayerParams>();

function layerParams(c: LlamaConfig, ropeFreqs: Float32Array | undefined): LayerParams {
  const known = layerParamsOf.get(c);
  if (known && known.ropeFreqs === ropeFreqs) return known;
  const rope = {
    headDim: c.headDim,
    ropeDims: c.ropeDims,
    freqBase: c.ropeFreqBase,
    freqScale: c.ropeFreqScale,
    style: c.traits.ropeStyle,
    ...(ropeFreqs && { freqFactors: ropeFreqs }),
  };
  const made = {
    ropeFreqs,
    ropeQ: { ...rope, nHeads: c.nHeads },
    ropeK: { ...rope, nHeads: c.nKvHeads },
    shape: { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim },
  };
  layerParamsOf.set(c, made);
  return made;
}

/**
 * Final RMSNorm and classifier, only for the rows whose logits are wanted (the last, or all n); `output` may be a row
 * slice of the classifier, giving that many logits per row. Returns the number of rows.
 */
export function recordHead(backend: Backend, c: LlamaConfig, outputNorm: Vector, output: Matrix, s: RunBuffers, n: number, allLogits: boolean): number {
  const rows = allLogits ? n : 1;
  if (rows > s.logitsRows) {
    backend.release(s.logits);
    s.logits = backend.createBuffer(rows * output.rows);
    s.logitsRows = rows;
  }
  backend.copy(s.last, 0, s.x, (n - rows) * c.dim, rows * c.dim);
  backend.rmsnorm(s.last, s.last, outputNorm, rows, c.rmsEps);
  backend.matmul(s.logits, output, s.last, rows);
  return rows;
}
