// `npm run kv:budget`: does one session of N tokens fit the isolate's budget? The model host's own accounting, per KV type.
//
// Synthesizes a model (default: SmolLM2-135M's shape, Q4_0), serves it to a ModelHost from an in-memory bucket (the
// ranged load the Worker does), then for each KV type creates one context of --ctx tokens (default 2048) the way a
// session does, fills its first ctx-1 positions through writeKvBytes and evaluates the last token, so attention runs
// over the whole context and every buffer it needs exists. Prints the host's figures: weights, KV, scratch, wasm
// linear memory, and what the host counts (usedBytes) against MEMORY_BUDGET_MB (default 128).
import { parseFlags } from "./lib/args";
import { synthModel, type SynthShapeName, type SynthTypeName } from "./lib/synth/model";
import { kvBytesPerPosition, type KvType } from "../src/backends/kv-format";
import { ModelHost } from "../src/session/model-host";
import type { Env } from "../src/env";

const MB = 1e6;
const MiB = 1 << 20;

/** The R2 surface the model host reads (head, ranged get), over bytes in memory. */
function memoryBucket(name: string, bytes: Uint8Array): R2Bucket {
  return {
    head: async (key: string) => (key === name ? { size: bytes.byteLength } : null),
    get: async (key: string, opts?: { range?: { offset: number; length: number } }) => {
      if (key !== name) return null;
      const { offset = 0, length = bytes.byteLength } = opts?.range ?? {};
      const slice = bytes.slice(offset, offset + length);
      return { size: bytes.byteLength, arrayBuffer: async () => slice.buffer };
    },
  } as unknown as R2Bucket;
}

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { shape: "string", type: "string", ctx: "number", budget: "number", types: "string" });
  const shape = (flags.shape ?? "smollm2-135m") as SynthShapeName;
  const type = (flags.type ?? "q4_0") as SynthTypeName;
  const nCtx = flags.ctx ?? 2048;
  const budgetMb = flags.budget ?? 128;
  const kvTypes = (flags.types ?? "f32,f16,q8_0").split(",") as KvType[];
  const name = `${shape}-${type}.gguf`;
  const bytes = synthModel({ shape, type, seed: 1 });
  console.log(`${name}: ${(bytes.byteLength / MB).toFixed(1)} MB file; budget ${budgetMb} MiB = ${((budgetMb * MiB) / MB).toFixed(1)} MB; one session of ${nCtx} tokens`);
  for (const kvType of kvTypes) {
    // A fresh host (and backend) per type, as a fresh isolate: wasm memory never shrinks.
    const host = new ModelHost();
    const env = { MODELS: memoryBucket(name, bytes), MODEL_NAME: name, BACKEND: "wasm", MEMORY_BUDGET_MB: String(budgetMb) } as unknown as Env;
    const model = await host.model(env);
    const owner = { idle: () => false, dropContext: () => {} };
    const row: Record<string, string> = { kv_type: kvType };
    try {
      const ctx = host.createContext(env, model, owner, nCtx, kvType);
      const per = kvBytesPerPosition(ctx.cache.layout);
      const tokens = Array.from({ length: nCtx }, (_, i) => (i * 7919 + 1) % model.config.vocabSize);
      ctx.restore(tokens.slice(0, nCtx - 1), nCtx - 1, new Uint8Array((nCtx - 1) * per));
      ctx.evaluate([tokens[nCtx - 1]!]);
      const m = model.backend.memory();
      Object.assign(row, {
        per_token: `${per} B`,
        kv_bytes: `${(m.kvBytes / MB).toFixed(1)} MB`,
        weights: `${(m.weightsBytes / MB).toFixed(1)} MB`,
        scratch: `${(m.scratchBytes / MB).toFixed(1)} MB`,
        linear_memory: `${((m.reservedBytes ?? 0) / MB).toFixed(1)} MB`,
        host_counts: `${(host.usedBytes(model) / MB).toFixed(1)} MB`,
        fits: host.usedBytes(model) <= budgetMb * MiB ? "yes" : "NO",
      });
    } catch (e) {
      row.refused = (e as Error).message;
    }
    console.log(JSON.stringify(row));
  }
}

await main();
