// One Worker script per shard under `wrangler dev -c main -c shard-0 ...`: the session reaches shard i through SHARDS_i (each shard its own isolate), its tokens equal the single engine's, and a missing binding is a 503 naming it.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshot, startDevServer, type DevServer } from "../../scripts/lib/dev-server";
import { ROOT } from "../../scripts/lib/local-r2";
import { getJson } from "../../scripts/lib/loadtest-sse";
import { generateShardScripts } from "../../scripts/lib/shards-config";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { sessionCalls } from "../helpers/dev-model";

const MODEL = join(ROOT, "models/stories260K.gguf");
const VARS = { MODEL_NAME: "stories260K.gguf", BACKEND: "ref", MEMORY_BUDGET_MB: "0.5", N_CTX: "128", REQUEST_BUDGET_MS: "600000" };
const SAMPLING = { temperature: 0.9, top_k: 40, seed: 20261204 };
const PROMPT = "Once upon a time";
const M = 48;

interface PlanInfo {
  sharding: { shards: number; plan: { index: number; layers: [number, number]; replicas: { isolate?: string; steps: number }[] }[] };
}

describe("per-shard Worker scripts under wrangler dev", () => {
  let dev: DevServer;
  let configs: string[];
  // A copy of the checkout: wrangler dev reloads every script on a source change, which would restart a request.
  const root = snapshot("edge-llama-shard-scripts-", "checkout");
  beforeAll(async () => {
    // The configs of `npm run shards:config` in the copy (paths relative to it).
    configs = generateShardScripts(root, MODEL, VARS);
    dev = await startDevServer({ root, models: [MODEL], vars: VARS, configs, startTimeoutMs: 180_000 });
  });
  afterAll(async () => {
    await dev?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const { create, generate: gen } = sessionCalls(() => dev, SAMPLING);

  it("runs every shard in its own isolate, reached through its SHARDS_<i> binding; tokens equal the single engine's", async () => {
    expect(configs).toHaveLength(8);
    const s = await create();
    const full = await gen(s.id, { text: PROMPT, max_tokens: M });
    expect(full.tokens).toHaveLength(M);
    // The single-object engine in Node on the same file and backend, with the same sampler.
    const single = LlamaModel.load(new Uint8Array(readFileSync(MODEL)), createBackend("ref"));
    const input = single.tokenizer.encode(PROMPT, { addBos: single.tokenizer.vocab.addBos, addEos: false });
    const g = generate(new LlamaContext(single, { nCtx: 128 }), new Sampler({ temperature: 0.9, topK: 40, seed: SAMPLING.seed }), { input, maxTokens: M });
    let step = await g.next();
    while (!step.done) step = await g.next();
    expect(full.tokens).toEqual(step.value.tokens);

    const info = await getJson<PlanInfo>(`${dev.url}/v1/model?shard_stats=1`);
    expect(info.sharding.shards).toBe(7);
    const replicas = info.sharding.plan.map((e) => e.replicas[0]!);
    // Only the shard scripts' class names its isolate; seven objects, seven isolates.
    expect(replicas.every((r) => typeof r.isolate === "string")).toBe(true);
    expect(new Set(replicas.map((r) => r.isolate)).size).toBe(7);
    // Every shard's own script served the steps: a layer shard every position (prompt and generated but the last).
    for (const e of info.sharding.plan) {
      expect(e.replicas[0]!.steps).toBeGreaterThan(0);
      if (e.layers[1] > e.layers[0]) expect(e.replicas[0]!.steps).toBeGreaterThanOrEqual(Math.ceil(input.length / 32) + M - 1);
    }
  }, 300_000);

  it("refuses a main Worker missing one shard's binding with 503 naming it and the command", async () => {
    const main = JSON.parse(readFileSync(join(root, configs[0]!), "utf8").replace(/^\/\/.*\n/, "")) as { durable_objects: { bindings: { name: string }[] } };
    main.durable_objects.bindings = main.durable_objects.bindings.filter((b) => b.name !== "SHARDS_3");
    const broken = join("build/shards", "wrangler.main-missing.jsonc");
    writeFileSync(join(root, broken), JSON.stringify(main));
    await dev.dispose();
    dev = await startDevServer({ root, models: [MODEL], vars: VARS, configs: [broken, ...configs.slice(1)], startTimeoutMs: 180_000 });
    // Refused as soon as a session needs the model (creating one), never served from the main Worker's own SHARDS.
    const r = await fetch(`${dev.url}/v1/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(SAMPLING) });
    expect(r.status).toBe(503);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("shards_not_configured");
    expect(body.error.message).toMatch(/SHARDS_3 missing.*npm run shards:config/);
  }, 300_000);
});
