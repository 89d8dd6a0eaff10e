// One shard's part of the forward pass: its weights, run buffers and a KV cache per session for its layers only.
import type { Backend, KvCache } from "../backends/backend";
import type { LlamaConfig } from "../engine/config";
import { createRunBuffers, recordEmbed, recordHead, recordLayers, type RunBuffers } from "../engine/forward";
import { EngineError } from "../engine/errors";
import type { PartWeights } from "../engine/weights";
import { backendBest, type BestLogit } from "./greedy";

/** A shard lost positions a step or commit builds on (evicted or restarted since its last flush): it refuses, never computes on the hole. */
export function shardBehind(holds: number, needs: number): EngineError {
  return new EngineError(
    `a shard holds ${holds} positions of this session but ${needs} are needed (it lost those past its last flush); the session goes back to its last commit`,
    "shard_behind",
  );
}

/** A step as the pipeline sends it to one shard (see ShardForward in src/protocol/shard-rpc.ts for the wire form). */
export interface ShardStepInput {
  /** Positions pos0.. of this batch. */
  readonly pos0: number;
  /** The batch's token ids (a shard that embeds looks them up; an embedding slice gets only the tokens it holds). */
  readonly tokens: readonly number[];
  /** The residual stream [rows × dim] from the shard before (absent when this shard embeds the tokens). */
  readonly x?: Float32Array;
  /** Logits for every row instead of the last. */
  readonly allLogits: boolean;
  /** Only the best logit of the (single) row is wanted: a classifier shard sends `best` instead of its logits (greedy.ts). */
  readonly argmax?: boolean;
  /**
   * With `argmax`, on a model whose classifier is its token embedding (tied): also send the embedding row of the best
   * token (`bestX`). Greedy decoding feeds that token next, so the next step starts from this row and calls no
   * embedding shard. The row is the same lookup of the same rows an embedding shard makes (bit-identical).
   */
  readonly embedBest?: boolean;
  /** Stop after the layers: this batch's logits are not wanted (a prefill batch before the last), so no classifier rows are scored. */
  readonly skipHead?: boolean;
}

export interface ShardStepOutput {
  /** The residual stream after this shard's layers (or its embedding rows). */
  readonly x?: Float32Array;
  /** Logits of its classifier rows: [rows × headRows width]. */
  readonly logits?: Float32Array;
  /** With `argmax`: the best of its classifier rows' logits, as the greedy sampler ranks them. */
  readonly best?: BestLogit;
  /** With `embedBest`: the token embedding row of `best.token` ([dim]); absent when no logit was finite. */
  readonly bestX?: Float32Array;
}

/** One session's KV for this shard's layers. */
export interface ShardSeq {
  readonly cache: KvCache;
  /** Positions whose K/V are in the cache. */
  evaluated: number;
}

export class ShardEngine {
  private readonly buffers: RunBuffers;
  /** Positions this engine ran through its layers (tests prove restores compute nothing). */
  forwarded = 0;

  constructor(
    readonly backend: Backend,
    readonly config: LlamaConfig,
    readonly weights: PartWeights,
    readonly maxBatch = 32,
  ) {
    const head = weights.part.headRows;
    this.buffers = createRunBuffers(backend, config, maxBatch, { layers: weights.layers.length > 0, logitsWidth: head ? head[1] - head[0] : 0 });
  }

  get nLayers(): number {
    return this.weights.layers.length;
  }

  /** A KV cache for one session's positions in this shard's layers. */
  createSeq(nCtx: number): ShardSeq {
    const c = this.config;
    return { cache: this.backend.createKvCache({ nLayers: Math.max(1, this.nLayers), nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim }), evaluated: 0 };
  }

  releaseSeq(seq: ShardSeq): void {
    this.backend.release(seq.cache);
  }

  /** Floats of one position in this shard's pages: K and V of its layers. */
  floatsPerPosition(): number {
    return Math.max(1, this.nLayers) * 2 * this.config.kvDim;
  }

  /**
   * Runs one batch through this shard: embedding (when it holds the embedding and gets no x), its layers (positions
   * past pos0 + n in `seq` are discarded: they belonged to a continuation the session no longer has), then its
   * classifier rows. The ops are exactly the single-object pass's, so the results are bit-identical.
   */
  step(seq: ShardSeq | null, input: ShardStepInput): ShardStepOutput {
    const { backend, config: c, weights: w, buffers: s } = this;
    const n = input.x ? input.x.length / c.dim : input.tokens.length;
    if (!Number.isInteger(n) || n < 1 || n > this.maxBatch) throw new RangeError(`a shard step takes 1..${this.maxBatch} rows, got ${n}`);
    if (input.x) backend.write(s.x, input.x);
    else if (w.tokenEmbd && w.part.embedRows) recordEmbed(backend, w.tokenEmbd, s, input.tokens, w.part.embedRows[0]);
    else throw new RangeError("this shard neither embeds tokens nor was given the residual stream");
    const hasLayers = this.nLayers > 0;
    if (hasLayers) {
      if (!seq) throw new RangeError("a shard with layers needs the session's KV cache");
      if (input.pos0 > seq.evaluated) throw shardBehind(seq.evaluated, input.pos0);
      recordLayers(backend, c, w.layers, w.ropeFreqs, s, seq.cache, n, input.pos0);
      seq.evaluated = input.pos0 + n;
      this.forwarded += n;
    }
    const x = hasLayers || !w.output ? backend.read(s.x, 0, n * c.dim) : undefined;
    if (!w.output || !w.outputNorm || input.skipHead) return { x };
    // A classifier-only shard gets exactly the rows it scores; after layers, the last row or all of them.
    const rows = recordHead(backend, c, w.outputNorm, w.output, s, n, hasLayers ? input.allLogits : true);
    if (!input.argmax) return { ...(x && { x }), logits: backend.read(s.logits, 0, rows * w.output.rows) };
    if (rows !== 1) throw new RangeError(`a greedy step scores one row, got ${rows}`);
    const first = w.part.headRows![0];
    const best = backendBest(backend, s.logits, w.output.rows, first);
    if (!input.embedBest || !c.tiedOutput || best.token < 0) return { ...(x && { x }), best };
    // The classifier rows are token_embd's rows [first, ...): the same lookup recordEmbed makes in an embedding shard.
    // The residual stream was read above, so its buffer is free for the row.
    recordEmbed(backend, w.output, s, [best.token], first);
    return { ...(x && { x }), best, bestX: backend.read(s.x, 0, c.dim) };
  }
}
