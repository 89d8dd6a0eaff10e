// `npm run bench -- --vs-llama-cpp`: our backends and llama.cpp on the same GGUF file in one sitting, runs alternated.
//
// Each model is written as a real GGUF file (synthetic shapes included) and loaded by llama.cpp (scripts/lib/llama-cpp.ts:
// the prebuilt CPU library of node-llama-cpp@3.21.1, 1 thread, its defaults of an F16 KV cache and flash attention
// "auto") and by each of our Node backends. Then every timed round runs each engine once in turn, so a machine that
// slows down or speeds up during the run moves all engines alike; the rows are the medians over rounds, each row of ours
// also gets its paired ratio (the median of its run i / llama.cpp's run i, bench-pairing.ts), and ratios are taken only
// within this run (docs/benchmarks.md renders them). The workerd rows that follow get
// llama.cpp runs of their own, one after each of theirs (LlamaCppBeside), and their ratios divide by those. Where the
// host allows (Linux), every run is timed by the CPU time of the thread that runs the engine, not the wall clock: on
// this shared host the wall clock also counts the time a run waits for a CPU (half of it at load 6 on 2 CPUs).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { benchPrompt, benchRow, benchSamples, findModel, kvTypeProblem, median, modelBytes, modelLabel, modelType, runOnce, tokenCounts, type BenchModelSpec, type BenchRow } from "./bench-core";
import type { BenchReportRow } from "./bench-report";
import { readBenchModel, type BenchCliOptions } from "./bench-run";
import { LlamaCpp } from "./llama-cpp";
import { pairedRatio } from "./bench-pairing";
import { allowedCpus, canPin, pinThread, threadCpuMs } from "./thread-cpu";

/** What the rows of llama.cpp were measured with (the report's runtime.llama_cpp). */
export const LLAMA_CPP_RUNTIME = "llama.cpp v0.4.0 (node-llama-cpp 3.21.1 prebuilt CPU library), 1 thread, F16 KV, flash attention auto, decode after the prompt";

/** A report row of llama.cpp's timed runs (medians; no memory figures: llama.cpp's are not ours to account). */
function llamaCppRow(label: { model: string; type: string }, runtime: string, results: { prefill: number; decode: number }[], o: BenchCliOptions): BenchReportRow {
  // Only the label's names: callers pass wider objects (a workerd /load answer, the entry holding the results).
  return {
    model: label.model,
    type: label.type,
    backend: "llama.cpp",
    runtime,
    prefill_tokens_per_s: Math.round(median(results.map((r) => r.prefill))),
    decode_tokens_per_s: Math.round(median(results.map((r) => r.decode)) * 10) / 10,
    weights_bytes: null,
    peak_memory_bytes: null,
    prefill_tokens: o.prefill,
    decode_tokens: o.decode,
    runs: results.length,
    samples: benchSamples(results),
  };
}

/**
 * Rows for every model: our Node backends (webgpu excluded: it reads back asynchronously) and llama.cpp, alternated.
 * Ours use o.kvType's cache (llama.cpp keeps its default F16); a model that cannot take it is skipped (logged).
 */
export function benchVsLlamaCpp(o: BenchCliOptions): { rows: BenchReportRow[]; cpuVariant: string } {
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "bench-vs-llama-cpp-"));
  const rows: BenchReportRow[] = [];
  let cpuVariant = "";
  // Ours and llama.cpp (one ggml thread) both compute on this thread: its CPU time is each run's time.
  const cpuClock = Number.isFinite(threadCpuMs());
  const now = cpuClock ? () => threadCpuMs() : undefined;
  // Each round (our runs, then llama.cpp's) is pinned to one CPU, CPUs in turn, as the workerd pairs are: this host's
  // CPUs are at times unequal for whole stretches, and a round split over two would compare the CPUs, not the engines.
  const cpus = cpuClock && canPin() ? allowedCpus() : [];
  const pinned = cpus.length > 0; // the workerd rows' rule: pinned wherever a thread can be
  try {
    for (const spec of o.models.map(findModel)) {
      const bytes = modelBytes(spec, readBenchModel);
      const path = join(dir, `${spec.id}.gguf`);
      writeFileSync(path, bytes);
      const backends = o.backends.filter((b) => b !== "webgpu");
      const kvType = o.kvType ?? "f32";
      const ours = backends.map((b) => {
        const model = LlamaModel.load(bytes, createBackend(b));
        const n = tokenCounts(spec, b, o);
        return { model, n, prompt: benchPrompt(model.config.vocabSize, n.prefill), results: [] as { prefill: number; decode: number }[] };
      });
      const problem = ours[0] ? kvTypeProblem(ours[0].model, kvType) : null;
      if (problem) {
        log(`${spec.id}: skipped, ${problem}`);
        continue;
      }
      const cpp = new LlamaCpp(path, { nCtx: o.prefill + o.decode + 8, threads: 1, kvType: "f16", flashAttention: "auto" });
      cpuVariant = cpp.cpuVariant;
      const cppResults: { prefill: number; decode: number }[] = [];
      try {
        for (let round = 0; round < o.warmup + o.runs; round++) {
          const timed = round >= o.warmup;
          if (pinned) pinThread(0, [cpus[round % cpus.length]!]);
          for (const e of ours) {
            const r = runOnce(e.model, e.prompt, e.n.decode, kvType, now);
            if (timed) e.results.push(r);
          }
          const c = cpp.measureOnce({ pp: o.prefill, tg: o.decode });
          if (timed) cppResults.push(cpuClock ? { prefill: (o.prefill * 1000) / c.ppCpuMs, decode: (o.decode * 1000) / c.tgCpuMs } : { prefill: c.pp, decode: c.tg });
        }
      } finally {
        if (pinned) pinThread(0, cpus);
        cpp.free();
      }
      const clock = cpuClock ? ` (timed by the thread's CPU time${pinned ? ", each round pinned to one CPU (CPUs in turn)" : ""})` : "";
      const bo = { ...o, runtime: `node ${process.version}${clock}` };
      const ourRows: BenchRow[] = ours.map((e) => benchRow(spec, e.model, bo, e.n, e.results));
      const label = { model: modelLabel(spec), type: modelType(ours[0]?.model ?? LlamaModel.load(bytes, createBackend("ref"))) };
      const cppRow = llamaCppRow(label, `llama.cpp (${cpuVariant}${cpuClock ? ", timed by its thread's CPU time" : ""})`, cppResults, o);
      // Round i ran each backend's run i and then llama.cpp's run i: each backend's runs pair with llama.cpp's one to one.
      for (const row of ourRows) {
        const paired = pairedRatio(row.samples, cppRow.samples);
        if (paired) row.paired_ratio = paired;
      }
      for (const row of [...ourRows, cppRow]) {
        log(`${row.model} ${row.type} ${row.backend}: prefill ${row.prefill_tokens_per_s}, decode ${row.decode_tokens_per_s} tok/s`);
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, cpuVariant };
}

/**
 * llama.cpp timed beside another runtime's rows (workerd's): after each of that runtime's runs of a model, one
 * llama.cpp run of the same file, so both see the machine as it was then. rows() gives one llama.cpp row per model,
 * its runtime ending in "beside <runtime>", which the ratio columns of that runtime's rows divide by.
 */
export class LlamaCppBeside {
  private readonly dir = mkdtempSync(join(tmpdir(), "bench-beside-llama-cpp-"));
  /** Results per model; only the model in use holds a llama.cpp instance (the runtime's rows go model by model). */
  private readonly measured = new Map<string, { cpuVariant: string; model: string; type: string; clock: "wall" | "cpu"; results: { prefill: number; decode: number }[] }>();
  private current: { id: string; cpp: LlamaCpp } | null = null;

  constructor(
    private readonly o: BenchCliOptions,
    readonly runtime: string,
  ) {}

  /**
   * One llama.cpp run of `spec`'s file (loaded on first use), kept when `timed`; model and type label its row. Returns
   * the run's tokens/s, which the caller pairs with its own run just before it: by the wall clock, or with `clock`
   * "cpu" by the CPU time of this thread (ggml's one thread), as the caller timed its own run.
   */
  run(spec: BenchModelSpec, label: { model: string; type: string }, timed: boolean, clock: "wall" | "cpu" = "wall"): { prefill: number; decode: number } {
    if (this.current?.id !== spec.id) {
      this.current?.cpp.free();
      this.current = null;
      const path = join(this.dir, `${spec.id}.gguf`);
      writeFileSync(path, modelBytes(spec, readBenchModel));
      const cpp = new LlamaCpp(path, { nCtx: this.o.prefill + this.o.decode + 8, threads: 1, kvType: "f16", flashAttention: "auto" });
      this.current = { id: spec.id, cpp };
    }
    const cpp = this.current.cpp;
    let e = this.measured.get(spec.id);
    if (!e) this.measured.set(spec.id, (e = { cpuVariant: cpp.cpuVariant, ...label, clock, results: [] }));
    if (e.clock !== clock) throw new Error(`llama.cpp beside ${this.runtime}: ${spec.id} timed by both clocks`);
    const c = cpp.measureOnce({ pp: this.o.prefill, tg: this.o.decode });
    const r = clock === "cpu" ? { prefill: (this.o.prefill * 1000) / c.ppCpuMs, decode: (this.o.decode * 1000) / c.tgCpuMs } : { prefill: c.pp, decode: c.tg };
    if (timed) e.results.push(r);
    return r;
  }

  rows(): BenchReportRow[] {
    return [...this.measured.values()]
      .filter((e) => e.results.length > 0)
      .map((e) => llamaCppRow(e, `llama.cpp (${e.cpuVariant}${e.clock === "cpu" ? ", timed by its thread's CPU time" : ""}) beside ${this.runtime}`, e.results, this.o));
  }

  free(): void {
    this.current?.cpp.free();
    this.current = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
