// One forward step through the shards of a plan: embedding slices, the chain of layer shards, then classifier slices.
import type { LlamaConfig } from "../engine/config";
import { betterOf, greedyRow, type BestLogit } from "./greedy";
import type { ShardPlan, ShardSpec } from "./plan";
import type { ShardStepInput, ShardStepOutput } from "./shard-engine";

/** Where a context's hops spent their time (ms, summed): the caller's round trips, and inside the shards. */
export interface HopStats {
  calls: number;
  roundTripMs: number;
  computeMs: number;
  persistMs: number;
}

export const newHopStats = (): HopStats => ({ calls: 0, roundTripMs: 0, computeMs: 0, persistMs: 0 });

/** Runs a step on one shard (in process for tests and benchmarks, by RPC in the Worker). */
export type ShardCaller = (shard: ShardSpec, input: ShardStepInput) => Promise<ShardStepOutput>;

/** What a shard does in a step; the roles follow from the spec alone. */
export function roleOf(s: ShardSpec, vocab: number): "embed-slice" | "chain" | "head-slice" {
  const hasLayers = s.layers[1] > s.layers[0];
  const wholeEmbed = s.embedRows !== null && s.embedRows[0] === 0 && s.embedRows[1] === vocab;
  if (hasLayers || wholeEmbed) return "chain";
  return s.embedRows ? "embed-slice" : "head-slice";
}

/**
 * What a step brings back: every row's logits, the last row's, only the best logit of the last row (greedy sampling:
 * the head shards send one number instead of their rows, see greedy.ts), or nothing (a prefill batch before the last:
 * the classifier slices are not called at all).
 */
export type LogitsWanted = "all" | "last" | "best" | "none";

/**
 * Logits of one batch (at most the plan's batch size) at positions pos0..: the last row's, every row's ([rows × vocab])
 * for "all", a row holding only the best logit for "best", an empty array for "none". `row` (vocab floats), when
 * given, is reused for "last" and "best": the caller reads it before the next step. Slices of a split embedding or
 * classifier are called in parallel; layer shards in order.
 */
export async function pipelineStep(plan: ShardPlan, c: LlamaConfig, call: ShardCaller, tokens: readonly number[], pos0: number, want: LogitsWanted, row?: Float32Array): Promise<Float32Array> {
  const n = tokens.length;
  const allLogits = want === "all";
  const argmax = want === "best";
  const roles = plan.shards.map((s) => roleOf(s, c.vocabSize));
  const slices = plan.shards.filter((_, i) => roles[i] === "embed-slice");
  let x: Float32Array | undefined;
  if (slices.length > 0) {
    // Each slice looks up the tokens in its rows; their rows are put back in batch order.
    x = new Float32Array(n * c.dim);
    const owned = slices.map((s) => tokens.map((t, i) => [t, i] as const).filter(([t]) => t >= s.embedRows![0] && t < s.embedRows![1]));
    const outs = await Promise.all(slices.map((s, k) => (owned[k]!.length > 0 ? call(s, { pos0, tokens: owned[k]!.map(([t]) => t), allLogits }) : null)));
    outs.forEach((out, k) => owned[k]!.forEach(([, i], j) => x!.set(out!.x!.subarray(j * c.dim, (j + 1) * c.dim), i * c.dim)));
  }
  const rows = allLogits ? n : 1;
  // The classifier shards' rows partition the vocabulary, so a reused row is overwritten whole.
  const logits = argmax || want === "none" ? null : want === "last" && row?.length === c.vocabSize ? row : new Float32Array(rows * c.vocabSize);
  let best: BestLogit = { token: -1, logit: -Infinity };
  const place = (s: ShardSpec, out: ShardStepOutput) => {
    if (argmax) {
      if (!out.best) throw new RangeError(`shard ${s.index} sent no best logit for a greedy step`);
      best = betterOf(best, out.best);
      return;
    }
    if (!logits) return;
    const part = out.logits!;
    const [r0, r1] = s.headRows!;
    const w = r1 - r0;
    for (let r = 0; r < rows; r++) logits.set(part.subarray(r * w, (r + 1) * w), r * c.vocabSize + r0);
  };
  for (const [i, s] of plan.shards.entries()) {
    if (roles[i] !== "chain") continue;
    const out = await call(s, { pos0, tokens, ...(x && { x }), allLogits, ...(argmax && s.headRows && { argmax }) });
    if (out.x) x = out.x;
    if (s.headRows) place(s, out);
  }
  const heads = plan.shards.filter((_, i) => roles[i] === "head-slice");
  if (heads.length > 0 && want !== "none") {
    const last = x!.subarray((n - rows) * c.dim);
    const outs = await Promise.all(heads.map((s) => call(s, { pos0, tokens: tokens.slice(n - rows), x: last, allLogits: true, ...(argmax && { argmax }) })));
    outs.forEach((out, k) => place(heads[k]!, out));
  }
  if (argmax) return greedyRow(c.vocabSize, best, row);
  return logits ?? new Float32Array(0);
}
