// Runs the bench matrix (Node, and workerd where asked); used by scripts/bench.ts and the smoke test.
import "../../src/backends/wasm/load-node";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { modelPath, readModelFile } from "./model-dir";
import { UsageError } from "./args";
import { benchModel, findModel, modelBytes, type BenchOptions, type BenchRow } from "./bench-core";
import type { LlamaCppBeside } from "./bench-llama-cpp";
import { KV_TYPES, type KvType } from "../../src/backends/kv-format";

export interface BenchCliOptions extends Omit<BenchOptions, "runtime"> {
  readonly models: readonly string[];
  readonly backends: readonly string[];
  readonly runtimes: readonly string[];
  readonly log?: (line: string) => void;
}

/** The repository's shipped fixtures (stories260K Q8_0 and Q4_0), where a file model is looked up after the model directory. */
const FIXTURE_MODELS = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));

/** Reads a file model from the model directory, else from the shipped fixtures. */
export function readBenchModel(name: string): Uint8Array {
  const fixture = FIXTURE_MODELS + name;
  return !existsSync(modelPath(name)) && !name.includes("/") && existsSync(fixture) ? readModelFile(fixture) : readModelFile(name);
}

/** The value of --kv-type (f32 when absent); anything but f32, f16 or q8_0 is a usage error naming the choices. */
export function parseKvTypeFlag(value: string | undefined): KvType {
  if (value === undefined) return "f32";
  if ((KV_TYPES as readonly string[]).includes(value)) return value as KvType;
  throw new UsageError(`--kv-type must be one of ${KV_TYPES.join(", ")}, got "${value}"`);
}

/** Runs the matrix in Node (and workerd where asked); one row per model × backend × runtime. */
export async function runBench(o: BenchCliOptions, beside?: LlamaCppBeside): Promise<BenchRow[]> {
  const log = o.log ?? (() => {});
  const specs = o.models.map(findModel);
  for (const r of o.runtimes) if (r !== "node" && r !== "workerd") throw new UsageError(`unknown runtime "${r}"; known: node, workerd`);
  const rows: BenchRow[] = [];
  if (o.runtimes.includes("node")) {
    for (const spec of specs) {
      const bytes = modelBytes(spec, readBenchModel);
      for (const b of o.backends) {
        const bo = { ...o, runtime: `node ${process.version}` };
        if (b === "webgpu" && (o.kvType ?? "f32") !== "f32") {
          log(`${spec.id} webgpu: skipped, --kv-type ${o.kvType} is applied to the synchronous backends only (webgpu rows use f32)`);
          continue;
        }
        // webgpu reads back asynchronously and needs an adapter (Dawn in Node; see bench-webgpu.ts).
        const row = b === "webgpu" ? await (await import("./bench-webgpu")).benchWebGpu(spec, bytes, bo, log) : benchModel(spec, bytes, b, bo, log);
        if (!row) continue; // no adapter here, or the model cannot take the KV type (logged)
        log(`${row.model} ${row.type} ${row.backend} ${row.runtime}: prefill ${row.prefill_tokens_per_s}, decode ${row.decode_tokens_per_s} tok/s`);
        rows.push(row);
      }
    }
  }
  if (o.runtimes.includes("workerd")) {
    const { benchWorkerd } = await import("./bench-workerd");
    // Released workerd has no navigator.gpu: webgpu rows are Node-only.
    rows.push(...(await benchWorkerd(specs, o.backends.filter((b) => b !== "webgpu"), o, log, beside)));
  }
  return rows;
}

