// `npm run bench -- --profile`: where the time goes, per backend op (matmul split by weight name), prefill vs decode.
import type { Backend, Matrix } from "../../src/backends/backend";
import { GGML_TYPES, ggmlTypeName } from "../../src/gguf/ggml-types";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { BenchSession, benchPrompt, tokenCounts, type BenchModelSpec } from "./bench-core";

const OPS = ["embed", "rmsnorm", "matmul", "rope", "storeKv", "attention", "softmax", "swiglu", "add", "read", "copy", "write"] as const;

/** One op key's totals over a phase: wall ms, calls, and (matmuls) weight bytes read as stored in the file. */
interface OpTotals {
  ms: number;
  calls: number;
  bytes: number;
  macs: number;
}
type Sink = { totals: Map<string, OpTotals> };

/** File bytes of a matrix: what a matmul streams once per call (the packed copy is within a few % of it). */
function matrixBytes(m: Matrix): number {
  const info = GGML_TYPES.get(m.type);
  return info ? (m.rows * m.cols * info.typeSize) / info.blockSize : 0;
}

/** Wraps a backend so each op's wall time, calls and weight bytes add to `sink` (matmuls keyed by weight and type). */
function timedBackend(inner: Backend, sink: Sink): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function" || !(OPS as readonly (string | symbol)[]).includes(prop)) return typeof v === "function" ? v.bind(target) : v;
      return (...args: unknown[]) => {
        const m = prop === "matmul" ? (args[1] as Matrix & { name: string }) : null;
        const key = m ? `matmul ${m.name.replace(/^blk\.\d+\./, "")} ${ggmlTypeName(m.type)}` : String(prop);
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        const ms = performance.now() - t0;
        const e = sink.totals.get(key) ?? { ms: 0, calls: 0, bytes: 0, macs: 0 };
        e.ms += ms;
        e.calls++;
        if (m) {
          e.bytes += matrixBytes(m);
          e.macs += m.rows * m.cols * (args[3] as number);
        }
        sink.totals.set(key, e);
        return r;
      };
    },
  });
}

/**
 * Profiles `runs` runs of one model on one backend; returns lines for stderr. Per op: share of the phase's wall time,
 * µs and calls per token; per matmul also the weights' effective bandwidth (file bytes / time: a decode matvec that
 * streams its weights from memory is bandwidth-bound near the machine's single-core GB/s, compute-bound well below
 * it) and the integer rate (MAC/s over all tokens of the call: prefill tiles reuse each weight across tokens).
 */
export function profileModel(spec: BenchModelSpec, bytes: Uint8Array, backendName: string, o: { prefill: number; decode: number; runs: number }): string[] {
  const phases = { prefill: new Map<string, OpTotals>(), decode: new Map<string, OpTotals>() };
  const sink: Sink = { totals: phases.prefill };
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
    const entries = [...m.entries()];
    const ops = entries.reduce((a, [, e]) => a + e.ms, 0);
    const calls = entries.reduce((a, [, e]) => a + e.calls, 0);
    const tokens = (phase === "prefill" ? n.prefill : n.decode) * o.runs;
    const mm = entries.filter(([k]) => k.startsWith("matmul "));
    const mmMs = mm.reduce((a, [, e]) => a + e.ms, 0);
    const mmBytes = mm.reduce((a, [, e]) => a + e.bytes, 0);
    lines.push(
      `  ${phase}: ${((wall[phase] * 1000) / tokens).toFixed(1)} µs/token wall, ${((100 * ops) / wall[phase]).toFixed(0)}% inside backend ops, ` +
        `${(calls / tokens).toFixed(1)} backend calls/token; matmuls ${((100 * mmMs) / wall[phase]).toFixed(0)}% at ${(mmBytes / mmMs / 1e6).toFixed(1)} GB/s of weights`,
    );
    for (const [k, e] of entries.sort((a, b) => b[1].ms - a[1].ms)) {
      if (e.ms / wall[phase] < 0.005) continue;
      let line = `    ${k.padEnd(32)} ${((100 * e.ms) / wall[phase]).toFixed(1).padStart(5)}%  ${((e.ms * 1000) / tokens).toFixed(1).padStart(8)} µs/token  ${(e.calls / tokens).toFixed(2).padStart(6)} calls/token`;
      if (e.bytes > 0) {
        line += `  ${(e.bytes / e.ms / 1e6).toFixed(1).padStart(6)} GB/s  ${(e.macs / e.ms / 1e6).toFixed(1).padStart(6)} GMAC/s`;
      }
      lines.push(line);
    }
  }
  return lines;
}
