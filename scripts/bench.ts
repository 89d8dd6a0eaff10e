// `npm run bench`: prefill and decode tokens/s of each backend on stories260K F32 / Q8_0 / Q4_0 (table or --json rows).
import "../src/backends/wasm/load-node";
import { LlamaModel } from "../src/engine/model";
import { LlamaContext } from "../src/engine/context";
import { createBackend } from "../src/backends/select";
import { WasmBackend } from "../src/backends/wasm/wasm-backend";
import { ggmlTypeName } from "../src/gguf/index";
import { readModelFile } from "../src/util/model-dir";
import { parseFlags, UsageError } from "./lib/args";

const USAGE = `usage: npm run bench -- [--models a.gguf,b.gguf] [--backends ref,wasm-simd128,wasm-relaxed] [--prefill N] [--decode N]
       [--runs N] [--warmup N] [--json]`;

interface Row {
  model: string;
  type: string;
  backend: string;
  runtime: string;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  weights_bytes: number;
  /** Wasm: the whole linear memory at the end (weights, KV, scratch, slack). Ref: weights + KV + buffers it holds. */
  peak_memory_bytes: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Weight type of the file: the type of its first attention projection (a file can mix types). */
function modelType(model: LlamaModel): string {
  return ggmlTypeName(model.weights.layers[0]!.wq.type);
}

/** One timed run: prefill `prompt` in one evaluate (batches of 32), then greedy-decode `decode` tokens one by one. */
function runOnce(model: LlamaModel, prompt: number[], decode: number): { prefill: number; decode: number } {
  const ctx = new LlamaContext(model, { nCtx: prompt.length + decode + 1 });
  const t0 = performance.now();
  let logits = ctx.evaluate(prompt);
  const t1 = performance.now();
  for (let i = 0; i < decode; i++) logits = ctx.evaluate([argmax(logits)]);
  const t2 = performance.now();
  ctx.dispose();
  return { prefill: (prompt.length * 1000) / (t1 - t0), decode: (decode * 1000) / (t2 - t1) };
}

function bench(file: string, backendName: string, prefill: number, decode: number, runs: number, warmup: number): Row {
  const backend = createBackend(backendName);
  const model = LlamaModel.load(readModelFile(file), backend);
  // A fixed pseudo-random prompt of in-vocabulary ids (speed does not depend on the text).
  const prompt = Array.from({ length: prefill }, (_, i) => 1 + ((i * 7919 + 13) % (model.config.vocabSize - 1)));
  for (let i = 0; i < warmup; i++) runOnce(model, prompt, decode);
  const results = Array.from({ length: runs }, () => runOnce(model, prompt, decode));
  const mem = backend.memory();
  const peak = backend instanceof WasmBackend ? backend.linearMemoryBytes : mem.weightsBytes + mem.kvBytes + mem.scratchBytes;
  // Held-at-the-end KV is released by dispose; report a context's worth for the ref backend too.
  const kvBytes = model.config.nLayers * 2 * (prefill + decode + 1) * model.config.kvDim * 4;
  return {
    model: file,
    type: modelType(model),
    backend: backend.name,
    runtime: `node ${process.version}`,
    prefill_tokens_per_s: Math.round(median(results.map((r) => r.prefill))),
    decode_tokens_per_s: Math.round(median(results.map((r) => r.decode))),
    weights_bytes: mem.weightsBytes,
    peak_memory_bytes: backend instanceof WasmBackend ? peak : peak + kvBytes,
  };
}

function main(): void {
  const { flags } = parseFlags(process.argv.slice(2), {
    models: "string",
    backends: "string",
    prefill: "number",
    decode: "number",
    runs: "number",
    warmup: "number",
    json: "boolean",
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const models = (flags.models ?? "stories260K.gguf,stories260K-Q8_0.gguf,stories260K-Q4_0.gguf").split(",");
  const backends = (flags.backends ?? "ref,wasm-simd128,wasm-relaxed").split(",");
  const rows: Row[] = [];
  for (const m of models) {
    for (const b of backends) {
      const row = bench(m, b, flags.prefill ?? 128, flags.decode ?? 128, flags.runs ?? 5, flags.warmup ?? 1);
      rows.push(row);
      if (flags.json) console.log(JSON.stringify(row));
    }
  }
  if (!flags.json) {
    console.log(`${rows[0]?.runtime ?? ""}; prefill ${flags.prefill ?? 128}, decode ${flags.decode ?? 128} tokens; median of ${flags.runs ?? 5} runs after ${flags.warmup ?? 1} warm-up`);
    console.table(
      rows.map((r) => ({
        model: r.model,
        type: r.type,
        backend: r.backend,
        "prefill tok/s": r.prefill_tokens_per_s,
        "decode tok/s": r.decode_tokens_per_s,
        "weights MB": (r.weights_bytes / 1e6).toFixed(2),
        "peak MB": (r.peak_memory_bytes / 1e6).toFixed(2),
      })),
    );
  }
}

try {
  main();
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  throw e;
}
