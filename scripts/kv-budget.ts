// `npm run kv:budget`: does one session of N tokens fit the isolate's budget? The model host's own accounting, per KV type.
//
// Synthesizes a model (default: SmolLM2-135M's shape, Q4_0; `--type q4_k_m` or another llama.cpp mix quantizes an
// F32 synthesis as llama-quantize does), serves it to a ModelHost from an in-memory bucket (the ranged load the Worker
// does), then for each KV type creates one context of --ctx tokens (default 2048) the way a session does, fills its
// first positions through writeKvBytes, evaluates a 32-token prefill batch and then the last token, so attention runs
// over the whole context and every buffer a session needs exists. Prints the host's figures: weights, KV, scratch, wasm linear memory (once loaded
// and at the end), the loading peak (linear memory plus the largest range read in flight), and what the host counts
// (usedBytes) against MEMORY_BUDGET_MB (default 128).
import { parseFlags } from "./lib/args";
import { synthModel, type SynthShapeName } from "./lib/synth/model";
import { isMixOnly, synthMixModel } from "./lib/synth-mix";
import { measureKvBudget } from "./lib/kv-budget-run";
import type { KvType } from "../src/backends/kv-format";

const MB = 1e6;
const MiB = 1 << 20;
const mb = (n: number | undefined) => (n === undefined ? undefined : `${(n / MB).toFixed(2)} MB`);

/** The JS heap in use after a full collection (node --expose-gc); undefined without it, as a figure with garbage means little. */
const gc = (globalThis as { gc?: () => void }).gc;
const heapBytes = gc
  ? () => {
      gc();
      return process.memoryUsage().heapUsed;
    }
  : undefined;

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { shape: "string", type: "string", ctx: "number", budget: "number", types: "string" });
  const shape = (flags.shape ?? "smollm2-135m") as SynthShapeName;
  const type = (flags.type ?? "q4_0").toLowerCase();
  const nCtx = flags.ctx ?? 2048;
  const budgetMb = flags.budget ?? 128;
  const kvTypes = (flags.types ?? "f32,f16,q8_0").split(",") as KvType[];
  const name = `${shape}-${type}.gguf`;
  const bytes = isMixOnly(type) ? synthMixModel(shape, type, 1) : synthModel({ shape, type, seed: 1 });
  console.log(`${name}: ${mb(bytes.byteLength)} file; budget ${budgetMb} MiB = ${mb(budgetMb * MiB)}; one session of ${nCtx} tokens`);
  for (const kvType of kvTypes) {
    const r = await measureKvBudget(name, bytes, kvType, nCtx, budgetMb, heapBytes);
    const row = {
      kv_type: r.kvType,
      ...(r.perTokenBytes !== undefined && { per_token: `${r.perTokenBytes} B` }),
      kv_bytes: mb(r.kvBytes),
      weights: mb(r.weightsBytes),
      scratch: mb(r.scratchBytes),
      linear_memory_loaded: mb(r.loadedLinearBytes),
      largest_read: `${mb(r.largestReadBytes)} (${r.rangeReads} reads)`,
      load_peak: mb(r.loadPeakBytes),
      ...(r.jsHeapBytes !== undefined && { js_heap_loaded: mb(r.jsHeapBytes) }),
      js_buffers: mb(r.jsBuffersBytes),
      tokenizer: mb(r.tokenizerBytes),
      linear_memory: mb(r.linearBytes),
      host_counts: mb(r.hostBytes),
      fits: r.fits ? "yes" : "NO",
      ...(r.refused !== undefined && { refused: r.refused }),
    };
    console.log(JSON.stringify(row));
  }
}

await main();
