// `npm run bench -- --profile`: where the time goes, per backend op (matmul split by weight name), prefill vs decode.
import type { Backend } from "../../src/backends/backend";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { BenchSession, benchPrompt, tokenCounts, type BenchModelSpec } from "./bench-core";

const OPS = ["embed", "rmsnorm", "matmul", "rope", "storeKv", "attention", "softmax", "swiglu", "add", "read", "copy", "write"] as const;

/** Wraps a backend so each op's wall time is added to `totals` (matmuls keyed by weight, layer index dropped). */
function timedBackend(inner: Backend, sink: { totals: Map<string, number> }): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function" || !(OPS as readonly (string | symbol)[]).includes(prop)) return typeof v === "function" ? v.bind(target) : v;
      return (...args: unknown[]) => {
        const key = prop === "matmul" ? `matmul ${String((args[1] as { name: string }).name).replace(/^blk\.\d+\./, "")}` : String(prop);
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        sink.totals.set(key, (sink.totals.get(key) ?? 0) + performance.now() - t0);
        return r;
      };
    },
  });
}

/** Profiles `runs` runs of one model on one backend; returns lines for stderr. */
export function profileModel(spec: BenchModelSpec, bytes: Uint8Array, backendName: string, o: { prefill: number; decode: number; runs: number }): string[] {
  const phases = { prefill: new Map<string, number>(), decode: new Map<string, number>() };
  const sink = { totals: phases.prefill };
  const model = LlamaModel.load(bytes, timedBackend(createBackend(backendName), sink));
  const n = tokenCounts(spec, backendName, o);
  const prompt = benchPrompt(model.config.vocabSize, n.prefill);
  const wall = { prefill: 0, decode: 0 };
  for (let i = 0; i < o.runs + 1; i++) {
    const s = new BenchSession(model, prompt, n.decode);
    if (i === 0) {
      s.prefill(); // warm-up, not counted
      s.decodeAll();
      phases.prefill.clear();
      phases.decode.clear();
      s.dispose();
      continue;
    }
    sink.totals = phases.prefill;
    let t = performance.now();
    s.prefill();
    wall.prefill += performance.now() - t;
    sink.totals = phases.decode;
    t = performance.now();
    s.decodeAll();
    wall.decode += performance.now() - t;
    s.dispose();
  }
  const lines = [`profile ${spec.id} ${model.backend.name} (${o.runs} runs, ${n.prefill}+${n.decode} tokens):`];
  for (const phase of ["prefill", "decode"] as const) {
    const m = phases[phase];
    const ops = [...m.values()].reduce((a, b) => a + b, 0);
    const tokens = phase === "prefill" ? n.prefill : n.decode;
    lines.push(`  ${phase}: ${((wall[phase] * 1000) / (tokens * o.runs)).toFixed(1)} µs/token wall, ${((100 * ops) / wall[phase]).toFixed(0)}% inside backend ops`);
    for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1])) {
      if (v / wall[phase] < 0.005) continue;
      lines.push(`    ${k.padEnd(28)} ${((100 * v) / wall[phase]).toFixed(1).padStart(5)}%  ${((v * 1000) / (tokens * o.runs)).toFixed(1).padStart(8)} µs/token`);
    }
  }
  return lines;
}
