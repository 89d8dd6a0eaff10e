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
 * The embedding row of the token the last greedy step picked, on a model whose classifier is its embedding (tied): the
 * classifier shards send it with their best logit, and a next step that feeds exactly that token starts from it instead
 * of calling the embedding shards. The row is a pure function of the token, so it stays valid whatever happens between.
 */
export interface NextEmbedding {
  token: number;
  x: Float32Array | null;
}

export const newNextEmbedding = (): NextEmbedding => ({ token: -1, x: null });

/**
 * Logits of one batch (at most the plan's batch size) at positions pos0..: the last row's, every row's ([rows × vocab])
 * for "all", a row holding only the best logit for "best", an empty array for "none". `row` (vocab floats), when
 * given, is reused for "last" and "best": the caller reads it before the next step. Slices of a split embedding or
 * classifier are called in parallel; layer shards in order. `next`, when given, carries the picked token's embedding
 * row from a greedy step to the next one (see NextEmbedding); only plans with embedding slices use it (a shard that
 * embeds and runs layers is called anyway).
 */
export async function pipelineStep(plan: ShardPlan, c: LlamaConfig, call: ShardCaller, tokens: readonly number[], pos0: number, want: LogitsWanted, row?: Float32Array, next?: NextEmbedding): Promise<Float32Array> {
  const n = tokens.length;
  const allLogits = want === "all";
  const argmax = want === "best";
  const roles = plan.shards.map((s) => roleOf(s, c.vocabSize));
  const slices = plan.shards.filter((_, i) => roles[i] === "embed-slice");
  const embedBest = argmax && next !== undefined && c.tiedOutput && slices.length > 0;
  let x: Float32Array | undefined;
  if (next?.x && n === 1 && next.token === tokens[0] && next.x.length === c.dim) {
    // The token the last greedy step picked: its embedding row came back with the pick.
    x = next.x;
  } else if (slices.length > 0) {
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
  let bestX: Float32Array | undefined;
  const place = (s: ShardSpec, out: ShardStepOutput) => {
    if (argmax) {
      if (!out.best) throw new RangeError(`shard ${s.index} sent no best logit for a greedy step`);
      const b = betterOf(best, out.best);
      if (b !== best) [best, bestX] = [b, out.bestX];
      return;
    }
    if (!logits) return;
    const part = out.logits!;
    const [r0, r1] = s.headRows!;
    const w = r1 - r0;
    for (let r = 0; r < rows; r++) logits.set(part.subarray(r * w, (r + 1) * w), r * c.vocabSize + r0);
  };
  const head = { ...(argmax && { argmax }), ...(embedBest && { embedBest }) };
  for (const [i, s] of plan.shards.entries()) {
    if (roles[i] !== "chain") continue;
    // A shard with layers and classifier rows skips its rows when this batch's logits are not wanted.
    const out = await call(s, { pos0, tokens, ...(x && { x }), allLogits, ...(s.headRows && (want === "none" ? { skipHead: true } : head)) });
    if (out.x) x = out.x;
    if (s.headRows && want !== "none") place(s, out);
  }
  const heads = plan.shards.filter((_, i) => roles[i] === "head-slice");
  if (heads.length > 0 && want !== "none") {
    const last = x!.subarray((n - rows) * c.dim);
    const outs = await Promise.all(heads.map((s) => call(s, { pos0, tokens: tokens.slice(n - rows), x: last, allLogits: true, ...head })));
    outs.forEach((out, k) => place(heads[k]!, out));
  }
  if (embedBest) {
    next.token = best.token;
    next.x = bestX ?? null;
  }
  if (argmax) return greedyRow(c.vocabSize, best, row);
  return logits ?? new Float32Array(0);
}
