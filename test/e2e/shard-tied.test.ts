// A tied model under `wrangler dev`, a Worker script per shard: greedy decode carries the pick's embedding row (no embedding call after the prompt), the classifier's first rows sit beside the last layers, and the tokens equal the single engine's.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { greedyTokens } from "../../scripts/lib/bench-sharded-model";
import { snapshot, startDevServer, type DevServer } from "../../scripts/lib/dev-server";
import { ROOT } from "../../scripts/lib/local-r2";
import { getJson } from "../../scripts/lib/loadtest-sse";
import { generateShardScripts } from "../../scripts/lib/shards-config";
import { synthModel } from "../../scripts/lib/synth/model";
import { createBackend } from "../../src/backends/select";
import "../../src/backends/wasm/load-node";
import { LlamaModel } from "../../src/engine/model";
import { sessionCalls } from "../helpers/dev-model";

const NAME = "tiny-tied-e2e.gguf";
// 360 KiB (the model needs 384 KiB whole): the embedding in two row slices, layers 0-1 with the classifier's first rows, the rest in three slices.
const VARS = { MODEL_NAME: NAME, BACKEND: "wasm-relaxed", MEMORY_BUDGET_MB: String(360 / 1024), N_CTX: "32", REQUEST_BUDGET_MS: "600000", PERSIST_EVERY: "8" };
const M = 20;

interface PlanInfo {
  sharding: { shards: number; plan: { index: number; layers: [number, number]; embed_rows: [number, number] | null; head_rows: [number, number] | null; replicas: { steps: number }[] }[] };
}

describe("a tied model's shards under wrangler dev", () => {
  let dev: DevServer;
  const dir = join(ROOT, "build/e2e-shard-tied");
  const bytes = synthModel({ shape: "tiny", overrides: { vocab: 4096, tied: true }, type: "q8_0", seed: 4 });
  const root = snapshot("edge-llama-shard-tied-", "checkout");
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, NAME), bytes);
    const configs = generateShardScripts(root, join(dir, NAME), VARS);
    dev = await startDevServer({ root, models: [join(dir, NAME)], vars: VARS, configs, startTimeoutMs: 180_000 });
  });
  afterAll(async () => {
    await dev?.dispose();
    rmSync(root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const { create, generate: gen } = sessionCalls(() => dev, { temperature: 0 });

  it("decodes greedily without an embedding call after the prompt; tokens equal the single engine's", async () => {
    const { sharding } = await getJson<PlanInfo>(`${dev.url}/v1/model?shard_stats=1`);
    expect(sharding.plan, JSON.stringify(sharding)).toBeDefined();
    const embeds = sharding.plan.filter((e) => e.embed_rows && e.layers[1] === e.layers[0]);
    const packed = sharding.plan.find((e) => e.head_rows && e.layers[1] > e.layers[0]);
    expect(embeds.length).toBeGreaterThan(1);
    expect(packed?.head_rows?.[0]).toBe(0);
    const prompt = [5, 77, 1200, 3000, 4095, 12];
    // A first session with the same prompt: the second one's prompt comes from the prompt cache (a fork in every shard).
    const warm = await create();
    await gen(warm.id, { tokens: prompt, max_tokens: 2 });
    const s = await create();
    const first = await gen(s.id, { tokens: prompt, max_tokens: 1 });
    const before = await getJson<PlanInfo>(`${dev.url}/v1/model?shard_stats=1`);
    const rest = await gen(s.id, { max_tokens: M });
    const after = await getJson<PlanInfo>(`${dev.url}/v1/model?shard_stats=1`);
    const single = LlamaModel.load(bytes, createBackend("wasm-relaxed"));
    expect([...first.tokens, ...rest.tokens]).toEqual(await greedyTokens(single, prompt, 1 + M));
    const steps = (info: PlanInfo, i: number) => info.sharding.plan[i]!.replicas.reduce((n, r) => n + r.steps, 0);
    // The decode request: no embedding slice was called; every layer shard and classifier slice ran every step.
    for (const e of after.sharding.plan) {
      const d = steps(after, e.index) - steps(before, e.index);
      expect(d).toBe(embeds.some((x) => x.index === e.index) ? 0 : rest.tokens.length);
    }
  }, 300_000);
});
