// The shard plan: a pure function of the GGUF header and the memory budget that cuts a model into contiguous pieces, one isolate each.
import { GgmlType, type GgufTensorInfo } from "../gguf/index";
import type { LlamaConfig } from "../engine/config";
import { OUTPUT, OUTPUT_NORM, ROPE_FREQS, TOKEN_EMBD, tensorLayer } from "../engine/tensor-names";
import { HostError } from "../protocol/errors";

/** A half-open range [start, end). */
export type Span = readonly [start: number, end: number];

/** One shard: what it loads and what it holds in memory. Rows are token-id rows of the embedding / classifier. */
export interface ShardSpec {
  readonly index: number;
  /** Rows of token_embd this shard looks tokens up in (all of them, a slice of them, or none). */
  readonly embedRows: Span | null;
  /** Transformer layers [l0, l1) it runs (l0 === l1: none). */
  readonly layers: Span;
  /** Classifier rows it computes logits for (after the final norm), or none. */
  readonly headRows: Span | null;
  /** Tensors it reads from the file (a row slice of some when embedRows / headRows is partial). */
  readonly tensors: readonly string[];
  readonly weightBytes: number;
  /** KV cache of its layers for the sessions it keeps at nCtx. */
  readonly kvBytes: number;
  /** Run buffers of a prefill batch plus the largest tensor held while loading. */
  readonly bufferBytes: number;
  /** weightBytes + kvBytes + bufferBytes: at most the budget. */
  readonly totalBytes: number;
}

export interface ShardPlan {
  readonly budgetBytes: number;
  readonly nCtx: number;
  readonly sessionsPerShard: number;
  readonly shards: readonly ShardSpec[];
}

export interface PlanOptions {
  readonly budgetBytes: number;
  /** Context length a session's KV cache is sized for. */
  readonly nCtx: number;
  /** Sessions whose KV cache a shard keeps in memory at once (default 1; more are dropped to pages and restored). */
  readonly sessionsPerShard?: number;
  /** Prefill batch the run buffers are sized for (default 32, as LlamaContext). */
  readonly maxBatch?: number;
}

/** The header facts the plan reads: the config and the tensor table. */
export interface PlanInput {
  readonly config: LlamaConfig;
  readonly tensors: readonly GgufTensorInfo[];
}

const MiB = 1 << 20;
/** Row slices start on multiples of this, so a split never depends on a kernel's row grouping. */
const ROW_ALIGN = 64;

/** Bytes a copying backend holds for a tensor (as estimatedWeightBytes: Q8_0/Q4_0 scales widened, vectors as f32). */
export function loadedBytes(t: GgufTensorInfo, rows?: Span): number {
  const full = t.dims.length === 1 ? t.nElements * 4 : t.type === GgmlType.Q8_0 || t.type === GgmlType.Q4_0 ? t.nBytes + (t.nElements / 32) * 2 : t.nBytes;
  if (!rows) return full;
  const nRows = t.dims[1]!;
  return Math.ceil((full * (rows[1] - rows[0])) / nRows);
}

/** The plan's refusal: a piece that fits no shard, named with its numbers (503 memory_budget_exceeded). */
export function planError(what: string, need: number, budget: number): HostError {
  return new HostError(`${what} needs ${mib(need)}, more than the memory budget of ${mib(budget)} per shard (MEMORY_BUDGET_MB)`, "memory_budget_exceeded");
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`;
}

/** A piece being packed: its tensors with row slices, weights, KV and buffer needs. */
interface Piece {
  embedRows?: Span;
  layer?: number;
  headRows?: Span;
  tensors: string[];
  weights: number;
  kv: number;
  /** Activation floats per batch row this piece needs (shared buffers are counted once per shard by max). */
  layerBuffers: boolean;
  logitsWidth: number;
  largest: number;
}

/**
 * Cuts the model into shards, each within the budget: the embedding, layers in order, then the final norm and the
 * classifier. A model that fits whole yields one shard (the single-object path). The embedding and the classifier
 * are split by rows when one is larger than a budget. Deterministic: the same header and options give the same plan.
 */
export function planShards(input: PlanInput, options: PlanOptions): ShardPlan {
  const { config: c } = input;
  const budget = options.budgetBytes;
  const sessions = options.sessionsPerShard ?? 1;
  const maxBatch = options.maxBatch ?? 32;
  const byName = new Map(input.tensors.map((t) => [t.name, t] as const));
  const tensor = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new HostError(`the shard plan needs tensor ${name}, which the file lacks`, "model_load_failed");
    return t;
  };
  const kvPerLayer = 2 * c.kvDim * 4 * options.nCtx * sessions;
  const ropeFreqs = c.ropeFreqFactors ? [tensor(ROPE_FREQS)] : [];
  // Run buffers: the residual stream always; the layer activations when it runs layers; logits for its classifier rows.
  const buffers = (layers: boolean, logitsWidth: number) =>
    4 * maxBatch * (2 * c.dim + (layers ? 2 * c.dim + 2 * c.qDim + 2 * c.kvDim + 2 * c.ffnDim : 0) + (logitsWidth > 0 ? c.dim + logitsWidth : 0));
  const cost = (ps: readonly Piece[]) => {
    const layers = ps.some((p) => p.layerBuffers);
    let weights = ps.reduce((s, p) => s + p.weights, 0) + (layers ? ropeFreqs.reduce((s, t) => s + loadedBytes(t), 0) : 0);
    const logits = ps.reduce((s, p) => s + p.logitsWidth, 0);
    const largest = Math.max(0, ...ps.map((p) => p.largest));
    const kv = ps.reduce((s, p) => s + p.kv, 0);
    // A tied classifier held whole beside the whole embedding is the same tensor, loaded once.
    const shared = c.tiedOutput && ps.some((p) => p.embedRows?.[1] === c.vocabSize && p.embedRows[0] === 0) && ps.some((p) => p.headRows?.[1] === c.vocabSize && p.headRows[0] === 0);
    if (shared) weights -= loadedBytes(embd);
    const buf = buffers(layers, logits) + largest;
    return { weights, kv, buf, total: weights + kv + buf };
  };

  const embd = tensor(TOKEN_EMBD);
  const out = c.tiedOutput ? embd : tensor(OUTPUT);
  const norm = tensor(OUTPUT_NORM);
  /** Row slices of `t` from row `from` to the end, each as large as a budget allows (one when the rows fit). */
  const rowSlices = (t: GgufTensorInfo, fixed: (rows: Span) => Piece, what: string, from = 0): Piece[] => {
    const whole = fixed([from, c.vocabSize]);
    if (cost([whole]).total <= budget) return [whole];
    // Rows per slice: as many as fit beside the slice's fixed costs, rounded down to the row alignment.
    const perRow = loadedBytes(t) / c.vocabSize + 4 * maxBatch * (whole.logitsWidth > 0 ? 1 : 0) + t.nBytes / c.vocabSize;
    const fixedCost = cost([fixed([0, 0])]).total;
    let rows = Math.floor((budget - fixedCost) / perRow / ROW_ALIGN) * ROW_ALIGN;
    // The estimate leaves out buffers that only exist with rows (the classifier's input row): step down until it fits.
    while (rows >= ROW_ALIGN && cost([fixed([0, rows])]).total > budget) rows -= ROW_ALIGN;
    if (rows < ROW_ALIGN) throw planError(`${what} (${ROW_ALIGN} rows of ${t.name} with its buffers)`, fixedCost + ROW_ALIGN * perRow, budget);
    const pieces: Piece[] = [];
    for (let r = from; r < c.vocabSize; r += rows) pieces.push(fixed([r, Math.min(c.vocabSize, r + rows)]));
    return pieces;
  };
  const sliceName = (t: GgufTensorInfo, rows: Span) => (rows[0] === 0 && rows[1] === c.vocabSize ? t.name : `${t.name}[${rows[0]}:${rows[1]}]`);
  const embedPieces = rowSlices(
    embd,
    (rows) => ({ embedRows: rows, tensors: [sliceName(embd, rows)], weights: loadedBytes(embd, rows), kv: 0, layerBuffers: false, logitsWidth: 0, largest: Math.ceil((embd.nBytes * (rows[1] - rows[0])) / c.vocabSize) }),
    "the token embedding",
  );
  const layerPieces: Piece[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const ts = input.tensors.filter((t) => tensorLayer(t.name) === l);
    const piece: Piece = { layer: l, tensors: ts.map((t) => t.name), weights: ts.reduce((s, t) => s + loadedBytes(t), 0), kv: kvPerLayer, layerBuffers: true, logitsWidth: 0, largest: Math.max(...ts.map((t) => t.nBytes)) };
    const need = cost([piece]).total;
    if (need > budget) throw planError(`layer ${l} (${mib(piece.weights)} of weights, ${mib(piece.kv)} of KV cache for ${sessions} session(s) at ${options.nCtx} tokens, ${mib(need - piece.weights - piece.kv)} of buffers)`, need, budget);
    layerPieces.push(piece);
  }
  const headPiece = (rows: Span): Piece => ({
      headRows: rows,
      tensors: [norm.name, sliceName(out, rows)],
      weights: loadedBytes(norm) + loadedBytes(out, rows),
      kv: 0,
      layerBuffers: false,
      logitsWidth: rows[1] - rows[0],
      largest: Math.ceil((out.nBytes * (rows[1] - rows[0])) / c.vocabSize),
    });
  const headPieces = rowSlices(out, headPiece, "the classifier");

  /**
   * A split classifier: as many of its first rows as fit go into the last layer shard (`last`, which takes them) when
   * the rest then needs fewer slices of their own; every slice is a call per token, one after the layers. Returns the
   * slices left to pack.
   */
  const packHeadRows = (last: Piece[], slices: Piece[]): Piece[] => {
    if (!last.some((q) => q.layer !== undefined)) return slices;
    const fits = (units: number) => cost([...last, headPiece([0, units * ROW_ALIGN])]).total <= budget;
    let lo = 0;
    let hi = Math.floor((c.vocabSize - 1) / ROW_ALIGN);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) return slices;
    const rest = rowSlices(out, headPiece, "the classifier", lo * ROW_ALIGN);
    if (rest.length >= slices.length) return slices;
    last.push(headPiece([0, lo * ROW_ALIGN]));
    return rest;
  };

  // Greedy packing in pipeline order; a row slice of a split tensor starts a shard of its own (but the classifier rows
  // packHeadRows puts beside the last layers).
  const groups: Piece[][] = [];
  let current: Piece[] = [];
  const splitEmbed = embedPieces.length > 1;
  const splitHead = headPieces.length > 1;
  const pack = (p: Piece) => {
    const sliced = (p.embedRows && splitEmbed) || (p.headRows && splitHead);
    const afterSplitEmbed = splitEmbed && current.some((q) => q.embedRows);
    if (current.length > 0 && (sliced || afterSplitEmbed || cost([...current, p]).total > budget)) {
      groups.push(current);
      current = [];
    }
    current.push(p);
  };
  for (const p of [...embedPieces, ...layerPieces]) pack(p);
  for (const p of splitHead ? packHeadRows(current, headPieces) : headPieces) pack(p);
  groups.push(current);
  const shards = groups.map((ps, index): ShardSpec => {
    const k = cost(ps);
    const layers = ps.filter((p) => p.layer !== undefined).map((p) => p.layer!);
    const hasLayers = layers.length > 0;
    return {
      index,
      embedRows: ps.find((p) => p.embedRows)?.embedRows ?? null,
      layers: hasLayers ? [layers[0]!, layers[layers.length - 1]! + 1] : [0, 0],
      headRows: ps.find((p) => p.headRows)?.headRows ?? null,
      tensors: [...new Set([...(hasLayers ? ropeFreqs.map((t) => t.name) : []), ...ps.flatMap((p) => p.tensors)])],
      weightBytes: k.weights,
      kvBytes: k.kv,
      bufferBytes: k.buf,
      totalBytes: k.total,
    };
  });
  return { budgetBytes: budget, nCtx: options.nCtx, sessionsPerShard: sessions, shards };
}

/** True when the plan needs more than one object (otherwise the session runs the model itself). */
export function isSharded(plan: ShardPlan): boolean {
  return plan.shards.length > 1;
}
