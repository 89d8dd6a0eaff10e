// Greedy decoding through the shards: the classifier shards send their best logit instead of their rows only when the sampler needs no more, and the tokens stay those of the whole row.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import type { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { createBackend } from "../../src/backends/select";
import { readGguf } from "../../src/gguf/index";
import { argmaxSuffices, backendBest, BEST_READ_FLOATS, bestOf, bestOfRead, betterOf, greedyRow, pickOfGreedyRow, useArgmaxLogits } from "../../src/shard/greedy";
import { roleOf, type ShardCaller } from "../../src/shard/pipeline";
import { PipelineContext } from "../../src/shard/pipeline-context";
import type { ShardPlan } from "../../src/shard/plan";
import { inProcessShards } from "../../src/shard/in-process";
import type { ShardStepOutput } from "../../src/shard/shard-engine";
import { call, createSession, json, referenceRun } from "./helpers";
import { loadShardFixtures, REPLICAS, shardStub } from "./shard-fixtures";

let plan: ShardPlan;
let single: LlamaModel;
beforeAll(async () => {
  ({ plan, single } = await loadShardFixtures());
});

/** The sampler's greedy token over a row, or its error message. */
const greedyToken = (row: Float32Array): number | string => {
  try {
    return new Sampler({ temperature: 0 }).sample(row);
  } catch (e) {
    return (e as Error).message;
  }
};

/** The row's pick as the pipeline makes it: each slice's best, merged in the given (answer) order. */
const pickOf = (row: Float32Array, cuts: number[], order: number[]) => {
  const bounds = [0, ...cuts, row.length];
  const parts = bounds.slice(0, -1).map((b, k) => bestOf(row.subarray(b, bounds[k + 1]), b));
  return order.reduce((best, k) => betterOf(best, parts[k]!), { token: -1, logit: -Infinity });
};

describe("the best logit stands for the row", () => {
  it("gives the sampler's greedy token for ties across slices, NaN, ±Infinity and rows with no finite logit", () => {
    const rows: Float32Array[] = [
      Float32Array.from([0.5, 2, -1, 2, 2, 0]), // a tie inside one slice and across slices: lowest id
      Float32Array.from([NaN, -Infinity, NaN, -3, NaN, -Infinity]), // NaN is never a candidate
      Float32Array.from([1, Infinity, 3, Infinity, 0, 2]), // +Infinity ranks as the largest float, ties by id
      Float32Array.from([-Infinity, NaN, -Infinity, NaN, -Infinity, NaN]), // nothing finite: the sampler refuses
      Float32Array.from([-0, 0, -0, 0, -1, -0]), // -0 and 0 compare equal: lowest id
    ];
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let r = 0; r < 60; r++) rows.push(Float32Array.from({ length: 97 }, () => Math.round(rnd() * 6) - 3)); // many ties
    for (const row of rows) {
      const want = greedyToken(row);
      for (const [cuts, order] of [[[], [0]], [[3], [1, 0]], [[2, 4], [2, 0, 1]], [[1, 2, 3, 4, 5], [5, 3, 1, 0, 2, 4]]] as [number[], number[]][]) {
        if (cuts.some((c) => c >= row.length)) continue;
        expect(greedyToken(greedyRow(row.length, pickOf(row, cuts, order)))).toEqual(want);
      }
    }
    expect(greedyToken(rows[3]!)).toMatch(/no token has a finite logit/);
  });

  it("read in pieces (as a classifier shard reads its row) gives the pick of one pass, ties across pieces included", () => {
    const row = new Float32Array(3 * BEST_READ_FLOATS + 17).fill(-2);
    for (const i of [BEST_READ_FLOATS + 5, BEST_READ_FLOATS - 1, 2 * BEST_READ_FLOATS, 3 * BEST_READ_FLOATS + 16]) row[i] = 7;
    row[3] = NaN;
    const read = (o: number, n: number) => row.slice(o, o + n);
    expect(bestOfRead(read, row.length, 1000)).toEqual({ token: 1000 + BEST_READ_FLOATS - 1, logit: 7 });
    expect(bestOfRead(read, row.length, 1000)).toEqual(bestOf(row, 1000));
    row.fill(-Infinity);
    expect(bestOfRead(read, row.length, 0)).toEqual({ token: -1, logit: -Infinity });
    // A reused row (the pipeline's vocabulary-long buffer): no earlier pick survives in the row the sampler gets, for
    // a later pick above or below it. The row ends at the pick (the sampler's passes stop there); with no finite pick
    // it is the whole row.
    const into = new Float32Array(8);
    expect(greedyToken(greedyRow(8, { token: 2, logit: 1 }, into))).toBe(2);
    const above = greedyRow(8, { token: 6, logit: 0.5 }, into);
    expect(greedyToken(above)).toBe(6);
    expect(Array.from(above).filter((v) => v > -Infinity)).toEqual([0.5]);
    const below = greedyRow(8, { token: 1, logit: 0.25 }, into);
    expect(greedyToken(below)).toBe(1);
    expect(Array.from(below).filter((v) => v > -Infinity)).toEqual([0.25]);
    expect([above.length, below.length]).toEqual([7, 2]);
    const none = greedyRow(8, { token: -1, logit: -Infinity }, into);
    expect(none).toHaveLength(8);
    expect(greedyToken(none)).toMatch(/no token has a finite logit/);
  });

  it("a greedy row gives its pick back (the pipeline's nextPickAsync), and a backend's in-place pick equals the pass in TS", () => {
    for (const best of [{ token: 0, logit: -3 }, { token: 5, logit: 2.5 }, { token: 7, logit: 3.4028234663852886e38 }, { token: -1, logit: -Infinity }]) {
      expect(pickOfGreedyRow(greedyRow(8, best, new Float32Array(8)))).toEqual(best);
    }
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const specials = [NaN, Infinity, -Infinity, 3.4028234663852886e38, -0];
    for (const name of ["wasm-relaxed", "wasm-simd128", "ref"] as const) {
      const backend = createBackend(name);
      for (const n of [1, 5, 37, BEST_READ_FLOATS + 3]) {
        const row = Float32Array.from({ length: n }, () => (rnd() < 0.1 ? specials[Math.floor(rnd() * specials.length)]! : Math.round(rnd() * 8) - 4));
        const buf = backend.createBuffer(n);
        backend.write(buf, row);
        expect(backendBest(backend, buf, n, 100), `${name} n=${n}`).toEqual(bestOf(row, 100));
        backend.write(buf, new Float32Array(n).fill(NaN));
        expect(backendBest(backend, buf, n, 100)).toEqual({ token: -1, logit: -Infinity });
        backend.release(buf);
      }
    }
  });

  it("is used only when the sampler takes the argmax of the raw row", () => {
    const none = { logitBias: null, topLogprobs: 0 };
    expect(argmaxSuffices(new Sampler({ temperature: 0 }), none)).toBe(true);
    expect(argmaxSuffices(new Sampler({ temperature: 0, repetitionPenalty: 1.1, penaltyLastN: 0 }), none)).toBe(true);
    expect(argmaxSuffices(new Sampler({ temperature: 0.7 }), none)).toBe(false);
    expect(argmaxSuffices(new Sampler({ temperature: 0, repetitionPenalty: 1.1 }), none)).toBe(false);
    expect(argmaxSuffices(new Sampler({ temperature: 0, frequencyPenalty: 0.5 }), none)).toBe(false);
    expect(argmaxSuffices(new Sampler({ temperature: 0, presencePenalty: 0.5 }), none)).toBe(false);
    expect(argmaxSuffices(new Sampler({ temperature: 0 }), { logitBias: [[3, 5]], topLogprobs: 0 })).toBe(false);
    expect(argmaxSuffices(new Sampler({ temperature: 0 }), { logitBias: null, topLogprobs: 1 })).toBe(false);
    const masked = new Sampler({ temperature: 0 });
    masked.setConstraint({ mask: () => {}, accept: () => {}, isDone: () => false });
    expect(argmaxSuffices(masked, none)).toBe(false);
  });
});

describe("through the shards", () => {
  it("a greedy decode in row-split classifier shards sends best logits, no rows, and equals the single engine", async () => {
    // In process, with the classifier cut into row slices (as Llama 3's 128k rows are), every output of a decode step seen.
    const file = readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K));
    const sliced: ShardPlan = { ...plan, shards: splitHead(plan) };
    expect(sliced.shards.filter((s) => roleOf(s, single.config.vocabSize) === "head-slice").length).toBe(2);
    const shards = inProcessShards(file, single.config, sliced, () => createBackend(env.BACKEND || "wasm"));
    const seen: { argmax: boolean; out: ShardStepOutput }[] = [];
    const s = shards.session("greedy", 128);
    const spy: ShardCaller = async (spec, input) => {
      const out = await s.call(spec, input);
      if (spec.headRows) seen.push({ argmax: input.argmax === true, out });
      return out;
    };
    const ctx = new PipelineContext(single, 128, sliced, spy, s.shards);
    useArgmaxLogits(ctx.asContext(), true);
    const prompt = referenceRun().promptTokens;
    const got = await decode(ctx.asContext(), prompt, 24);
    const want = await decode(new LlamaContext(single, { nCtx: 128 }), prompt, 24);
    expect(got).toEqual(want);
    expect(seen.length).toBeGreaterThan(0);
    for (const { argmax, out } of seen) {
      expect(argmax).toBe(true);
      expect(out.logits).toBeUndefined();
      expect(out.best!.token).toBeGreaterThanOrEqual(-1);
    }
    // Off again (a later generation with logprobs or sampling): whole rows come back.
    useArgmaxLogits(ctx.asContext(), false);
    seen.length = 0;
    await ctx.nextLogitsAsync();
    expect(seen.every(({ argmax, out }) => !argmax && out.logits !== undefined && out.best === undefined)).toBe(true);
  });

  it("a prompt longer than a batch calls the classifier for its last batch only; the session's tokens are the single engine's", async () => {
    const heads = plan.shards.filter((s) => s.headRows);
    const steps = async () => (await Promise.all(heads.flatMap((s) => [...Array(REPLICAS).keys()].map((r) => shardStub(plan, s.index, r).stats())))).reduce((n, st) => n + st.steps, 0);
    const before = await steps();
    const prompt = Array.from({ length: 40 }, (_, i) => referenceRun().promptTokens[i % referenceRun().promptTokens.length]!);
    const s = await createSession({ temperature: 0 });
    const out = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { tokens: prompt, max_tokens: 6 }));
    expect(out.tokens).toEqual(await decode(new LlamaContext(single, { nCtx: 128 }), prompt, 6));
    const chainHeads = heads.filter((h) => roleOf(h, single.config.vocabSize) === "chain").length;
    // A classifier that is its own stage: 1 call for the 40-token prompt (its second batch) + 5 decode steps; one
    // that rides on a layer shard runs with every batch.
    expect((await steps()) - before).toBe(chainHeads ? chainHeads * 7 : heads.length * 6);
  });

  it("a greedy request asking for logprobs gets the whole row: the same log-probabilities as the single engine", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const out = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { tokens: run.promptTokens, max_tokens: 5, logprobs: 3 }));
    const ctx = new LlamaContext(single, { nCtx: 128 });
    const g = generate(ctx, new Sampler({ temperature: 0 }), { input: run.promptTokens, maxTokens: 5, topLogprobs: 3 });
    const want: [number, number][][] = [];
    for (let st = await g.next(); !st.done; st = await g.next()) if (st.value.token !== null) want.push(st.value.topLogprobs!.map((t) => [t.token, t.logprob]));
    const got = out.logprobs as { top_logprobs: { id: number; logprob: number }[] }[];
    expect(want).toHaveLength(5);
    expect(got.map((c) => c.top_logprobs.map((t) => [t.id, t.logprob]))).toEqual(want);
  });
});

/** The plan with its classifier rows in two row slices of their own (a multiple of 64 rows; layer shards keep none). */
function splitHead(p: ShardPlan): ShardPlan["shards"] {
  const vocab = single.config.vocabSize;
  const head = p.shards.find((s) => s.headRows)!;
  const rest = p.shards.filter((s) => s.layers[1] > s.layers[0] || s.embedRows).map((s) => ({ ...s, headRows: null }));
  const half = Math.ceil(vocab / 2 / 64) * 64;
  const slice = (rows: readonly [number, number]) => ({ ...head, embedRows: null, layers: [0, 0] as const, headRows: rows });
  return [...rest, slice([0, half]), slice([half, vocab])].map((s, i) => ({ ...s, index: i }));
}

async function decode(ctx: LlamaContext, prompt: number[], n: number): Promise<number[]> {
  const g = generate(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: n });
  let step = await g.next();
  while (!step.done) step = await g.next();
  return step.value.tokens;
}
