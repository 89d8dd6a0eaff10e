// SIGKILL of `wrangler dev` mid-stream with a sharded model: after a restart the continuation equals the uninterrupted run and the single engine, and no shard keeps an orphan position.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../scripts/lib/dev-server";
import { getJson } from "../../scripts/lib/loadtest-sse";
import { synthModel } from "../../scripts/lib/synth/model";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { killMidStream, sessionCalls, startDevWithModel } from "../helpers/dev-model";
import { seededRandom } from "../helpers/random";

// A stories15M-shaped model at an 8 MiB budget: 8 shards (embedding and classifier split by rows, layers 0-3 and 4-5).
const MODEL = "shard-faults-stories15M-q8_0.gguf";
const PERSIST_EVERY = 8;
const BYTES_PER_POSITION = 6 * 2 * 288 * 4;
const M = 48;
const SAMPLING = { temperature: 0.9, top_k: 40, seed: 20261204 };
const PROMPT = "Once upon a time";
const KILLS = 2;

describe("faults with a sharded model: SIGKILL mid-stream", () => {
  let dev: DevServer;
  let bytes: Uint8Array;
  beforeAll(async () => {
    bytes = synthModel({ shape: "stories15M", type: "q8_0", seed: 1 });
    dev = await startDevWithModel("edge-llama-shard-faults-", MODEL, bytes, {
      MODEL_NAME: MODEL,
      BACKEND: "ref",
      MEMORY_BUDGET_MB: "8",
      REQUEST_BUDGET_MS: "600000",
      PERSIST_EVERY: String(PERSIST_EVERY),
      N_CTX: "256",
    });
  });
  afterAll(async () => {
    await dev?.dispose();
  });

  const { create, info, generate: gen } = sessionCalls(() => dev, SAMPLING);

  it(`continues exactly after ${KILLS} seeded kills; the shards hold exactly the committed positions`, async () => {
    const model = await getJson<{ sharding: { shards: number } }>(`${dev.url}/v1/model`);
    expect(model.sharding.shards).toBeGreaterThanOrEqual(4);
    const reference = await create();
    const full = await gen(reference.id, { text: PROMPT, max_tokens: M });
    expect(full.finish_reason).toBe("length");
    expect(full.tokens).toHaveLength(M);
    // The first request of a fresh server loads shard parts; a second one on the same warm objects loads none.
    expect(full.shards?.loads).toBeGreaterThanOrEqual(1);
    const again = await gen((await create()).id, { text: PROMPT, max_tokens: 2 });
    expect(again.shards).toMatchObject({ catch_ups: 0, replayed_tokens: 0, loads: 0 });
    // The single-object engine on the same backend and file, with the same sampler: the sharded run equals it.
    const single = LlamaModel.load(bytes, createBackend("ref"));
    const input = single.tokenizer.encode(PROMPT, { addBos: single.tokenizer.vocab.addBos, addEos: false });
    expect(input).toHaveLength(full.usage.input_tokens);
    const g = generate(new LlamaContext(single, { nCtx: 256 }), new Sampler({ temperature: 0.9, topK: 40, seed: SAMPLING.seed }), { input, maxTokens: M });
    let step = await g.next();
    while (!step.done) step = await g.next();
    expect(step.value.tokens).toEqual(full.tokens);

    const random = seededRandom(11);
    for (let i = 0; i < KILLS; i++) {
      const killAfter = PERSIST_EVERY + 2 + Math.floor(random() * (M - PERSIST_EVERY - 14));
      const s = await create().catch((e: unknown) => {
        console.log(`[shard-faults] kill ${i}: create failed; wrangler said:\n${dev.logs().slice(-4000)}`);
        throw e;
      });
      await killMidStream(dev, s.id, { text: PROMPT, max_tokens: M }, killAfter);
      await dev.restart();
      const after = await info(s.id);
      const committed = after.token_count === 0 ? 0 : after.token_count - input.length;
      expect(committed % PERSIST_EVERY).toBe(0);
      const rest = await gen(s.id, committed === 0 ? { text: PROMPT, max_tokens: M } : { max_tokens: M - committed });
      expect(rest.tokens).toEqual(full.tokens.slice(committed));
      // The restarted process holds no shard parts: the request reports loading them (each shard object at most
      // once, so at most one load per shard).
      expect(rest.shards).toBeDefined();
      expect(rest.shards!.loads).toBeGreaterThanOrEqual(1);
      expect(rest.shards!.loads).toBeLessThanOrEqual(model.sharding.shards);
      expect(rest.shards!.replayed_tokens).toBeGreaterThanOrEqual(rest.shards!.catch_ups);
      // Every layer shard holds exactly the session's evaluated positions: anything computed past the commit point is gone.
      const done = await info(s.id);
      expect(done.evaluated_tokens).toBe(input.length + M - 1);
      expect(done.storage.kv_bytes).toBe(done.evaluated_tokens * BYTES_PER_POSITION);
    }
  }, 900_000);
});
