// A/B of KV cache types (f32 vs f16, or q8_0) through the whole engine: one model, one bench session per type and
// round (scripts/lib/bench-core.ts BenchSession: the prompt in one evaluate, then greedy decode), rounds alternated,
// so a slow phase of the machine moves both types alike. One loaded model serves both types, in Node or in the bench
// Worker (scripts/lib/bench-worker.ts) in one workerd; workerd's phases are timed from outside around each phase's
// request less the median empty round trip (workerd's clock stops during synchronous work).
// usage: npx tsx kernels/bench/kv-type-ab.ts [model=k256-Q4_0] [backend=wasm-relaxed] [types=f32,f16]
// env: PREFILL=128 DECODE=128 ROUNDS=15 RUNTIME=node|workerd. Prints per type the median prefill ms and µs per decoded
// token, and per phase the median of the per-round A/B time ratios (> 1: the second type is faster), with load averages.
import "../../src/backends/wasm/load-node";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { createBackend } from "../../src/backends/select";
import { parseKvType } from "../../src/backends/kv-format";
import { LlamaModel } from "../../src/engine/model";
import { BenchSession, benchPrompt, findModel, kvTypeProblem, median, modelBytes } from "../../scripts/lib/bench-core";
import { readBenchModel } from "../../scripts/lib/bench-run";
import { bundle } from "../../scripts/lib/bench-workerd";

const [modelId = "k256-Q4_0", backend = "wasm-relaxed", typeList = "f32,f16"] = process.argv.slice(2);
const types = typeList.split(",").map(parseKvType);
if (types.length !== 2) throw new Error("usage: kv-type-ab.ts [model] [backend] [typeA,typeB] (two KV types)");
const env = process.env;
const prefill = Number(env.PREFILL ?? 128), decode = Number(env.DECODE ?? 128), rounds = Number(env.ROUNDS ?? 15);
const runtime = env.RUNTIME ?? "node";
if (runtime !== "node" && runtime !== "workerd") throw new Error(`RUNTIME must be node or workerd, not ${runtime}`);

/** One run of a type: the prefill's ms and µs per decoded token. */
type Run = () => Promise<{ prefillMs: number; decodeUs: number }>;

/** Node: both types' sessions on one loaded model. */
function nodeRunners(): Run[] {
  const model = LlamaModel.load(modelBytes(findModel(modelId), readBenchModel), createBackend(backend));
  const prompt = benchPrompt(model.config.vocabSize, prefill);
  return types.map((t) => {
    const problem = kvTypeProblem(model, t);
    if (problem) throw new Error(`${modelId}: ${problem}`);
    return async () => {
      const s = new BenchSession(model, prompt, decode, t);
      if (s.kvType !== t) throw new Error(`the session's cache is ${s.kvType}, not ${t}`);
      const t0 = performance.now();
      s.prefill();
      const t1 = performance.now();
      s.decodeAll();
      const t2 = performance.now();
      s.dispose();
      return { prefillMs: t1 - t0, decodeUs: ((t2 - t1) * 1000) / decode };
    };
  });
}

/**
 * workerd: the bench Worker in one workerd, the model loaded once, each run's session made with its type (/session?kv=):
 * two Workers of one workerd, one per type, timed the second up to 15 % slower in an f32/f32 run.
 */
async function workerdRunners(dir: string): Promise<{ runs: Run[]; mf: Miniflare }> {
  const { script, wasm } = await bundle(dir);
  const modules = [{ type: "ESModule" as const, path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))];
  const mf = new Miniflare(convertV4MiniflareOptions({ modules, modulesRoot: dir, compatibilityDate: "2025-01-01" }));
  const call = async (path: string) => {
    const res = await mf.dispatchFetch(`http://bench${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${path}: ${text}`);
    return text;
  };
  const timed = async (path: string) => {
    const t0 = performance.now();
    await call(path);
    return performance.now() - t0;
  };
  await call(`/load?model=${modelId}&backend=${backend}&prefill=${prefill}&decode=${decode}&kv=${types[0]}`);
  for (let k = 0; k < 5; k++) await call("/noop"); // the first requests of a connection are slower
  const trips: number[] = [];
  for (let k = 0; k < 15; k++) trips.push(await timed("/noop"));
  const trip = median(trips);
  const runs = types.map((t): Run => async () => {
    const info = JSON.parse(await call(`/session?kv=${t}`)) as { kv_type: string };
    if (info.kv_type !== t) throw new Error(`the session's cache is ${info.kv_type}, not ${t}`);
    const pp = (await timed("/prefill")) - trip;
    const tg = (await timed("/decode")) - trip;
    return { prefillMs: pp, decodeUs: (tg * 1000) / decode };
  });
  return { runs, mf };
}

async function measure(runs: Run[]): Promise<void> {
  const load0 = loadavg();
  for (let w = 0; w < 3; w++) for (const r of runs) await r();
  const res: { prefillMs: number; decodeUs: number }[][] = [[], []];
  for (let i = 0; i < rounds; i++) for (const k of i & 1 ? [1, 0] : [0, 1]) res[k]!.push(await runs[k]!());
  const load1 = loadavg();
  const [a, b] = res as [typeof res[0], typeof res[0]];
  const ratio = (key: "prefillMs" | "decodeUs") => median(a.map((x, i) => x[key] / b[i]![key]));
  const spread = (key: "prefillMs" | "decodeUs") => {
    const r = a.map((x, i) => x[key] / b[i]![key]);
    return `${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)}`;
  };
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(`${modelId} ${backend} in ${runtime}: prefill ${prefill} tokens, decode ${decode} (positions ${prefill}–${prefill + decode - 1}), ${rounds} alternated rounds; load average before ${la(load0)}, after ${la(load1)}`);
  for (const [k, t] of types.entries()) {
    const r = res[k]!;
    console.log(`  ${t}: prefill ${median(r.map((x) => x.prefillMs)).toFixed(2)} ms, decode ${median(r.map((x) => x.decodeUs)).toFixed(1)} µs per token`);
  }
  console.log(`  ${types[1]} speed-up over ${types[0]} (median of per-round ${types[0]}/${types[1]} time ratios): prefill x${ratio("prefillMs").toFixed(3)} (${spread("prefillMs")}), decode x${ratio("decodeUs").toFixed(3)} (${spread("decodeUs")})`);
}

if (runtime === "node") {
  await measure(nodeRunners());
} else {
  const dir = mkdtempSync(join(tmpdir(), "kv-type-ab-"));
  try {
    const { runs, mf } = await workerdRunners(dir);
    try {
      await measure(runs);
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
