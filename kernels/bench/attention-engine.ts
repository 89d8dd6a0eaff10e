// The engine's attention op on the f32 KV cache, baseline kernels against the current build in one process: a synthetic
// model loaded once per module, prefill then decode alternated, each attention call timed (as `bench --profile` does),
// plus the same call repeated at once (the cache then hot: what a kernel-only bench sees), the prefill's calls and the
// decode's tokens/s.
// usage: npx tsx kernels/bench/attention-engine.ts --base /tmp/old-relaxed.wasm [--model smollm2-135m-Q4_0]
//   [--prompt 128] [--decode 128] [--rounds 5]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import "../../src/backends/wasm/load-node";
import type { Backend } from "../../src/backends/backend";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { LlamaModel } from "../../src/engine/model";
import { BenchSession, benchPrompt, findModel, median, modelBytes } from "../../scripts/lib/bench-core";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1]!;
};
const spec = findModel(arg("--model", "smollm2-135m-Q4_0"));
const [nPrompt, nDecode, rounds] = [Number(arg("--prompt", "128")), Number(arg("--decode", "128")), Number(arg("--rounds", "5"))];
const paths: Record<string, string> = { base: resolve(arg("--base", "")), new: resolve(arg("--new", "build/kernels/relaxed.wasm")) };
const bytes = modelBytes(spec, (n) => readFileSync(`${process.env.EDGE_LLAMA_MODELS ?? "test/fixtures"}/${n}`));

interface Run {
  model: LlamaModel;
  /** "prefill": calls timed once; "decode": timed, then repeated and timed again; null: not timed. */
  timing: "prefill" | "decode" | null;
  /** Per-call ms of the timed pass (medians resist the preemptions a shared machine adds to some calls). */
  t: { first: number[]; again: number[]; prefill: number[] };
}
function load(path: string): Run {
  const backend = new WasmBackend(new WebAssembly.Module(readFileSync(path)));
  const run: Run = { model: null as unknown as LlamaModel, timing: null, t: { first: [], again: [], prefill: [] } };
  const attention = backend.attention.bind(backend);
  (backend as Backend).attention = (...a: Parameters<Backend["attention"]>) => {
    if (!run.timing) return attention(...a);
    let t0 = performance.now();
    if (run.timing === "prefill") {
      attention(...a);
      run.t.prefill.push(performance.now() - t0);
      return;
    }
    attention(...a);
    run.t.first.push(performance.now() - t0);
    t0 = performance.now();
    attention(...a); // idempotent: the same output again, the cache now hot
    run.t.again.push(performance.now() - t0);
  };
  run.model = LlamaModel.load(bytes, backend);
  return run;
}
const runs = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, load(p)]));
const prompt = benchPrompt(runs.new!.model.config.vocabSize, nPrompt);
const res: Record<string, { first: number[]; again: number[]; prefill: number[]; tps: number[] }> = {};
for (let r = 0; r < rounds + 1; r++) {
  for (const [k, run] of Object.entries(runs)) {
    // Untimed pass (tokens/s of a decode without the repeated calls), then a pass with every attention call timed.
    const s = new BenchSession(run.model, prompt, nDecode);
    s.prefill();
    const t0 = performance.now();
    s.decodeAll();
    const tps = nDecode / ((performance.now() - t0) / 1000);
    s.dispose();
    run.t = { first: [], again: [], prefill: [] };
    const s2 = new BenchSession(run.model, prompt, nDecode);
    run.timing = "prefill";
    s2.prefill();
    run.timing = "decode";
    s2.decodeAll();
    run.timing = null;
    s2.dispose();
    if (r === 0) continue;
    const e = (res[k] ??= { first: [], again: [], prefill: [], tps: [] });
    e.prefill.push(median(run.t.prefill) * 1000);
    e.first.push(median(run.t.first) * 1000);
    e.again.push(median(run.t.again) * 1000);
    e.tps.push(tps);
  }
}
console.log(`${spec.id}, wasm-relaxed, f32 KV, ${nPrompt}-token prompt then ${nDecode} decoded (positions ${nPrompt}..${nPrompt + nDecode}); attention: medians over rounds of each round's median call; tok/s: median of ${rounds} alternated rounds`);
for (const [k, e] of Object.entries(res)) {
  console.log(`${k.padEnd(5)} attention µs per layer call: decode ${median(e.first).toFixed(1)}, repeated at once (hot) ${median(e.again).toFixed(1)}; prefill (batches of 32) ${median(e.prefill).toFixed(1)}; decode ${median(e.tps).toFixed(1)} tok/s`);
}
if (res.base && res.new) {
  const r = (f: (e: (typeof res)[string]) => number[]) => (median(f(res.new!)) / median(f(res.base!))).toFixed(2);
  console.log(`new/base: decode attention ${r((e) => e.first)}, prefill attention ${r((e) => e.prefill)}, decode tok/s ${r((e) => e.tps)}`);
}
