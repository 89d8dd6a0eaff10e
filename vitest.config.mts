// Test projects: "node" (engine, GGUF, quant, tokenizer, kernels in plain Node), "e2e" (HTTP against wrangler dev) and "workers" (inside workerd).
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { findFixture, fixturePath } from "./test/helpers/fixtures.js";

// SmolLM2's vocabulary (a larger fixture, from $EDGE_LLAMA_MODELS): the tokenize and chat-template Worker tests build a
// synthetic model on it, and skip (saying so) without it.
const smollm2Vocab = findFixture("vocab/smollm2.gguf");

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "test/kernels/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // End to end: each file starts its own `wrangler dev` (scripts/lib/dev-server.ts) on a free loopback port.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // The model reaches workerd as an ArrayBuffer binding (tests only; production reads it from R2).
              dataBlobBindings: {
                TEST_MODEL_STORIES260K: fixturePath("stories260K.gguf"),
                TEST_MODEL_STORIES260K_Q8_0: fixturePath("stories260K-Q8_0.gguf"),
                ...(smollm2Vocab ? { TEST_VOCAB_SMOLLM2: smollm2Vocab } : {}),
              },
              textBlobBindings: { TEST_REFERENCE_OUTPUTS: fixturePath("reference-outputs.json") },
              // Small KV pages (10 positions of stories260K) and frequent checkpoints, so tests cross page boundaries.
              bindings: { KV_PAGE_BYTES: "12800", PERSIST_EVERY: "8" },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          exclude: ["test/workers/shard-*.test.ts"],
          testTimeout: 120_000,
        },
      },
      {
        // The same Worker with a budget so small (0.5 MiB) that stories260K runs as a pipeline of ModelShard objects.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              dataBlobBindings: { TEST_MODEL_STORIES260K: fixturePath("stories260K.gguf") },
              textBlobBindings: { TEST_REFERENCE_OUTPUTS: fixturePath("reference-outputs.json") },
              // Two replicas of every shard: sessions spread over them, and forks cross between them.
              bindings: { KV_PAGE_BYTES: "12800", PERSIST_EVERY: "8", MEMORY_BUDGET_MB: "0.5", N_CTX: "128", SHARD_REPLICAS: "2" },
            },
          }),
        ],
        test: {
          name: "workers-sharded",
          include: ["test/workers/shard-*.test.ts"],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
