// Greedy decoding through shards: the head shards send their best logit instead of their rows of the logits, when the sampler would take the argmax of the raw row.
import type { Backend, Buffer } from "../backends/backend";
import type { LlamaContext } from "../engine/context";
import type { Sampler } from "../engine/sampler";
import { MAX_F32, type LogitBias } from "../engine/sampler-logits";

/** The best logit of a row (or of a classifier shard's slice of it), as the sampler ranks it; token -1 when none is finite. */
export interface BestLogit {
  readonly token: number;
  readonly logit: number;
}

/**
 * The sampler's greedy pick over `row` (token ids firstId..): its value map (NaN → -Infinity, +Infinity → the largest
 * float) and its argmax (strictly greater wins, so ties go to the lowest id).
 */
export function bestOf(row: Float32Array, firstId: number): BestLogit {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const raw = row[i]!;
    const v = raw !== raw ? -Infinity : raw === Infinity ? MAX_F32 : raw;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best < 0 ? { token: -1, logit: -Infinity } : { token: firstId + best, logit: bestV };
}

/** The better of two slices' picks: the higher logit, ties to the lower id (whatever order the slices answered in). */
export function betterOf(a: BestLogit, b: BestLogit): BestLogit {
  if (b.token < 0) return a;
  if (a.token < 0) return b;
  return b.logit > a.logit || (b.logit === a.logit && b.token < a.token) ? b : a;
}

/**
 * A logits row for the sampler from the best pick alone: -Infinity everywhere but the pick, and it ends at the pick
 * (ids 0..pick). The greedy sampler's argmax of it is the pick, and its passes over the row (the copy, the argmax)
 * stop there instead of running over the whole vocabulary; with no finite pick it is the whole row, all -Infinity,
 * and the sampler refuses as with the full row. Nothing but the greedy sampler may read it (argmaxSuffices).
 * `into` (a row of `vocab` floats) is reused when given: a fresh 513 KB row per token costs more in page faults than
 * the sampler's pass over it.
 */
export function greedyRow(vocab: number, best: BestLogit, into?: Float32Array): Float32Array {
  const n = best.token >= 0 ? best.token + 1 : vocab;
  const row = (into && into.length === vocab ? into.subarray(0, n) : new Float32Array(n)).fill(-Infinity);
  if (best.token >= 0) row[best.token] = best.logit;
  return row;
}

/** The pick a greedyRow holds: its last entry when finite (the row ends at the pick), else none (token -1). */
export function pickOfGreedyRow(row: Float32Array): BestLogit {
  const last = row.length - 1;
  return last >= 0 && row[last]! > -Infinity ? { token: last, logit: row[last]! } : { token: -1, logit: -Infinity };
}

/**
 * The sampler's greedy pick over `n` logits of a backend buffer (ids firstId..): where the backend finds it in place
 * (Backend.argmax: the wasm kernel, no copy out, no JS loop over the row), else read in pieces and picked in TS.
 */
export function backendBest(backend: Backend, buf: Buffer, n: number, firstId: number): BestLogit {
  if (backend.argmax) {
    const p = backend.argmax(buf, 0, n);
    return p.index < 0 ? { token: -1, logit: -Infinity } : { token: firstId + p.index, logit: p.value };
  }
  return bestOfRead((o, k) => backend.read(buf, o, k), n, firstId);
}

/** Floats per read of a classifier row for its best logit: small copies reuse the allocator's memory, a whole row does not. */
export const BEST_READ_FLOATS = 4096;

/** The best of `width` logits read through `read(offset, n)` in small pieces (the same pick as one pass over the row). */
export function bestOfRead(read: (offset: number, n: number) => Float32Array, width: number, firstId: number): BestLogit {
  let best: BestLogit = { token: -1, logit: -Infinity };
  for (let r = 0; r < width; r += BEST_READ_FLOATS) best = betterOf(best, bestOf(read(r, Math.min(BEST_READ_FLOATS, width - r)), firstId + r));
  return best;
}

/**
 * Whether the sampler's next picks depend on nothing but the argmax of the raw row: temperature 0, no logit_bias, no
 * penalty that changes a logit, no grammar mask, no log-probabilities. Anything else needs the whole row.
 */
export function argmaxSuffices(sampler: Sampler, request: { logitBias: LogitBias | null; topLogprobs: number }): boolean {
  // The sampler's own test (temperature, neutral penalties, its logit_bias and constraint), and the request's.
  return sampler.argmaxSuffices && (request.logitBias === null || request.logitBias.length === 0) && request.topLogprobs === 0;
}

/** Implemented by a pipeline context: whether its next decode steps may bring back the best logit only. */
export interface ArgmaxLogits {
  argmaxLogits(on: boolean): void;
}

/**
 * Before a generation: a sharded context's steps bring back the whole row, or only the head shards' best logits when
 * `argmaxSuffices` (set again by every generation, so a later one with logprobs or sampling gets whole rows). A
 * single-object context then finds each step's pick in place (LlamaContext.nextPick), a pipeline context asks the head
 * shards for theirs; generate() takes the pick without a pass over the vocabulary (argmaxOn, nextPickAsync).
 */
export function useArgmaxLogits(llm: LlamaContext, on: boolean): void {
  const ctx = llm as unknown as Partial<ArgmaxLogits>;
  if (typeof ctx.argmaxLogits === "function") ctx.argmaxLogits(on);
}
