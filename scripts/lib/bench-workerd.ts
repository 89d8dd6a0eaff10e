// Runs bench rows inside workerd (miniflare): bundles bench-worker.ts with esbuild, then times each phase from Node
// around one fetch (the round trip of an empty request is measured and subtracted). Warm-up runs go on until two
// consecutive runs agree near the fastest seen (V8 tiers kernels up in the background with workerd's default flags;
// see docs/kernels.md). Beside llama.cpp (--vs-llama-cpp) each run and the llama.cpp run after it are pinned to one
// CPU and both timed by the CPU time of the thread running the engine (docs/benchmarks.md, "Timing workerd beside
// llama.cpp").
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { benchSamples, median, type BenchModelSpec, type BenchOptions, type BenchRow } from "./bench-core";
import { workerdVersion } from "./bench-report";
import { warmUntilSteady } from "./bench-warmup";
import { pairedRatio } from "./bench-pairing";
import type { LlamaCppBeside } from "./bench-llama-cpp";
import { allowedCpus, canPin, childPids, pinProcess, pinThread, threadCpuMs } from "./thread-cpu";

/** Warm-up runs per row at most: a row not steady by then (see warmUntilSteady) is timed anyway (logged). */
const MAX_WARMUP = 12;

/** Bundles a bench Worker (bench-worker.ts unless `entry` names another) and its .wasm files into `dir` for miniflare. */
export async function bundle(dir: string, entry: string = fileURLToPath(new URL("./bench-worker.ts", import.meta.url))): Promise<{ script: string; wasm: string[] }> {
  await build({
    entryPoints: [entry],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    loader: { ".wasm": "copy" },
    assetNames: "[name]",
    logLevel: "error",
  });
  return { script: join(dir, "worker.js"), wasm: readdirSync(dir).filter((f) => f.endsWith(".wasm")) };
}

export async function benchWorkerd(
  specs: readonly BenchModelSpec[],
  backends: readonly string[],
  o: Omit<BenchOptions, "runtime">,
  log: (line: string) => void,
  beside?: LlamaCppBeside,
): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-bench-"));
  const rows: BenchRow[] = [];
  try {
    const { script, wasm } = await bundle(dir);
    const version = workerdVersion();
    // The label says how the rows were warmed, the same text on every workerd row (rows are matched by runtime).
    // Beside llama.cpp, where this host lets threads be timed and pinned (Linux), each of our runs and the llama.cpp run
    // after it go on one CPU, the CPUs taken in turn, and both are timed by their thread's CPU time: this host's two CPUs
    // differ for seconds at a time (others' processes queued on one; one running our isolate up to 1.5x slower with
    // nothing else on it), and a pair on two CPUs or timed by the wall clock took those differences for the engines'.
    const cpus = allowedCpus();
    const cpuClock = beside !== undefined && Number.isFinite(threadCpuMs()) && canPin() && cpus.length > 0;
    const how = cpuClock ? ", each run and its llama.cpp run pinned to one CPU (CPUs in turn), both timed by the thread's CPU time" : "";
    const runtime = `${version ? `workerd ${version}` : "workerd"} (miniflare, one workerd per row, warm-up until 2 runs agree within 10% or 1 ms, the last also with the fastest, ≤${MAX_WARMUP}${how})`;
    for (const spec of specs) {
      if (spec.kind !== "synth") {
        log(`workerd: skipping ${spec.id} (file models are not passed into workerd; synthetic shapes only)`);
        continue;
      }
      for (const b of backends) {
        // A fresh workerd per row: one process that has loaded earlier rows' models ran later rows up to 1.5x slower
        // (its memory grows with every model; a fresh one timed the same row at its first process's speed).
        const w = await startWorkerd(script, dir, wasm);
        const { call, phase } = w;
        // The isolate runs on workerd's main thread (its tid is the pid): the thread whose CPU time is the run's.
        const cpu = cpuClock && w.pid !== null;
        if (cpuClock && !cpu) log(`workerd: ${spec.id} ${b}: workerd's process not found; this row is timed by the wall clock, unpinned`);
        let runIndex = 0;
        try {
          let info: { model: string; type: string; backend: string; prefill: number; decode: number };
          try {
            info = (await call(`/load?model=${spec.id}&backend=${b}&prefill=${o.prefill}&decode=${o.decode}&kv=${o.kvType ?? "f32"}`)) as typeof info;
          } catch (e) {
            log(`workerd: ${spec.id} ${b}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
            continue;
          }
          const warmTimes: string[] = [];
          // With --vs-llama-cpp, llama.cpp runs the same file after each run here (its warm-up beside ours).
          // The llama.cpp runs that followed this row's timed runs, in order (paired with them one to one).
          const cppResults: { prefill: number; decode: number }[] = [];
          const once = async (timed = false) => {
            if (cpu) {
              const c = cpus[runIndex++ % cpus.length]!;
              pinProcess(w.pid!, [c]);
              pinThread(0, [c]); // this thread runs llama.cpp next
            }
            await call("/session");
            const pp = (await phase("/prefill"))[cpu ? "cpu" : "wall"];
            const tg = (await phase("/decode"))[cpu ? "cpu" : "wall"];
            warmTimes.push(`${pp.toFixed(0)}/${tg.toFixed(0)}`);
            const c = beside?.run(spec, info, timed, cpu ? "cpu" : "wall");
            if (timed && c) cppResults.push(c);
            return [pp, tg] as const;
          };
          // At least --warmup runs, then until two consecutive runs' prefill and decode times agree within 10% (or 1 ms)
          // and the last is within that of the fastest warm-up run seen (a slow phase of the machine is not steady).
          const warm = await warmUntilSteady(() => once(), o.warmup, Math.max(MAX_WARMUP, o.warmup + 2));
          log(`workerd: ${spec.id} ${b}: ${warm.runs} warm-up runs${warm.steady ? " (last two agree, near the fastest)" : ", not steady (the last two differ, or are slower than the fastest, by over 10% and 1 ms)"}; prefill/decode ms: ${warmTimes.join(" ")}`);
          const results: { prefill: number; decode: number }[] = [];
          for (let i = 0; i < o.runs; i++) {
            const [pp, tg] = await once(true);
            results.push({ prefill: (info.prefill * 1000) / pp, decode: (info.decode * 1000) / tg });
          }
          const mem = (await call("/memory")) as { weights_bytes: number; peak_memory_bytes: number };
          if (results.some((r) => !(r.prefill > 0 && r.decode > 0))) {
            // A phase shorter than an empty request's round trip cannot be timed from outside the isolate.
            log(`workerd: ${spec.id} ${b}: skipped, a phase took less than an empty request's round trip; use more tokens (--prefill, --decode)`);
            continue;
          }
          const row: BenchRow = {
            model: info.model,
            type: info.type,
            backend: info.backend,
            runtime,
            prefill_tokens_per_s: Math.round(median(results.map((r) => r.prefill))),
            decode_tokens_per_s: Math.round(median(results.map((r) => r.decode)) * 10) / 10,
            ...mem,
            prefill_tokens: info.prefill,
            decode_tokens: info.decode,
            runs: o.runs,
            samples: benchSamples(results),
          };
          const paired = cppResults.length === results.length ? pairedRatio(row.samples, benchSamples(cppResults)) : null;
          if (paired) row.paired_ratio = paired;
          log(`${row.model} ${row.type} ${row.backend} ${row.runtime}: prefill ${row.prefill_tokens_per_s}, decode ${row.decode_tokens_per_s} tok/s`);
          rows.push(row);
        } finally {
          if (cpu) pinThread(0, cpus);
          await w.mf.dispose();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** One workerd (miniflare) running the bundled bench Worker, with its request helpers; the caller disposes mf. */
async function startWorkerd(script: string, dir: string, wasm: string[]) {
  const before = new Set(childPids("workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [{ type: "ESModule", path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
      modulesRoot: dir,
      compatibilityDate: "2025-01-01",
    }),
  );
  const call = async (path: string): Promise<unknown> => {
    let res: Awaited<ReturnType<typeof mf.dispatchFetch>>;
    try {
      res = await mf.dispatchFetch(`http://bench${path}`);
    } catch (e) {
      // After an idle gap (with --vs-llama-cpp, llama.cpp loading a model between two of our runs) workerd may have
      // closed the kept-alive connection: "fetch failed", caused by "other side closed". The request never ran; send
      // it once more on a fresh connection.
      if (!(e instanceof TypeError && /other side closed/.test(String((e as { cause?: unknown }).cause)))) throw e;
      res = await mf.dispatchFetch(`http://bench${path}`);
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${path}: ${text}`);
    return JSON.parse(text);
  };
  for (let i = 0; i < 5; i++) await call("/noop");
  // The workerd miniflare started for this instance: the child of ours that was not there before (null if unsure).
  const started = childPids("workerd").filter((p) => !before.has(p));
  const pid = started.length === 1 ? started[0]! : null;
  /** A request's wall time here and the CPU time of workerd's main thread (the isolate's) meanwhile, in ms. */
  const timed = async (path: string) => {
    const c0 = pid === null ? NaN : threadCpuMs(pid);
    const t0 = performance.now();
    await call(path);
    const wall = performance.now() - t0;
    return { wall, cpu: pid === null ? NaN : threadCpuMs(pid) - c0 };
  };
  // An empty request's round trip drifts with the machine's load (and concurrent requests inflate it): each phase is
  // preceded by one, and the median of the last 9 is subtracted (its isolate CPU time likewise).
  const empty: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < 8; i++) empty.push(await timed("/noop"));
  const rtt = async () => {
    empty.push(await timed("/noop"));
    const last = empty.slice(-9);
    return { wall: median(last.map((e) => e.wall)), cpu: median(last.map((e) => e.cpu)) };
  };
  const phase = async (path: string) => {
    const r = await rtt();
    const t = await timed(path);
    return { wall: t.wall - r.wall, cpu: t.cpu - r.cpu };
  };
  return { mf, call, phase, pid };
}
