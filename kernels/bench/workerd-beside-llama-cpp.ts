// Repro for the slow workerd rows of `bench --vs-llama-cpp`: workerd decode runs alternated with llama.cpp runs of the
// same file as the bench does, logging per run the times and every thread's CPU time and run-queue wait
// (/proc/<pid>/task/<tid>/schedstat) of workerd and of this process, and the CPU each thread last ran on.
// usage: npx tsx kernels/bench/workerd-beside-llama-cpp.ts [model=k256-Q5_K_M]
// env: CPP=inproc|idle|none (llama.cpp run in this process / loaded but never run / not loaded) ROUNDS=16
//      PREFILL=128 DECODE=128 PLACE=free|cycle|same (cycle: round i pins workerd and this thread to CPUs
//      (0,0) (1,1) (0,1) (1,0) in turn, same: (0,0) (1,1), as the bench does; medians per placement) THREADS=1 (every thread's CPU and wait)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { bundle } from "../../scripts/lib/bench-workerd";
import { findModel, modelBytes } from "../../scripts/lib/bench-core";
import { readBenchModel } from "../../scripts/lib/bench-run";
import { LlamaCpp } from "../../scripts/lib/llama-cpp";
import { pinProcess, pinThread, threadCpuMs } from "../../scripts/lib/thread-cpu";

const modelId = process.argv[2] ?? "k256-Q5_K_M";
const env = process.env;
const mode = env.CPP ?? "inproc";
const rounds = Number(env.ROUNDS ?? 16), prefill = Number(env.PREFILL ?? 128), decode = Number(env.DECODE ?? 128);
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** Per thread of `pid`: name, CPU ns, run-queue wait ns, last CPU (stat field 39). */
function threads(pid: number): Map<number, { comm: string; run: number; wait: number; cpu: number }> {
  const out = new Map<number, { comm: string; run: number; wait: number; cpu: number }>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" "); // f[0] is field 3
      const [run, wait] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ").map(Number);
      out.set(Number(t), { comm, run: run!, wait: wait!, cpu: Number(f[39 - 3]) });
    } catch {
      // the thread exited between readdir and read
    }
  }
  return out;
}

/** CPU and wait ms per thread between two snapshots, the threads that ran ≥ 1 ms, busiest first. */
function delta(a: ReturnType<typeof threads>, b: ReturnType<typeof threads>, tag: string): string {
  const rows: string[] = [];
  const all = [...b].map(([tid, s]) => ({ tid, s, run: (s.run - (a.get(tid)?.run ?? 0)) / 1e6, wait: (s.wait - (a.get(tid)?.wait ?? 0)) / 1e6 }));
  for (const r of all.sort((x, y) => y.run - x.run)) if (r.run >= 1 || r.wait >= 5) rows.push(`${tag}:${r.s.comm}/${r.tid}@${r.s.cpu} run ${r.run.toFixed(0)} wait ${r.wait.toFixed(0)}`);
  return rows.join(", ");
}

/** The workerd process miniflare started (a child of this process). */
function workerdPid(): number {
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === process.pid && stat.includes("(workerd)")) return Number(p);
    } catch {
      // gone
    }
  }
  throw new Error("no workerd child found");
}

const dir = mkdtempSync(join(tmpdir(), "wd-beside-"));
const spec = findModel(modelId);
let cpp: LlamaCpp | null = null;
if (mode !== "none") {
  const path = join(dir, `${modelId}.gguf`);
  writeFileSync(path, modelBytes(spec, readBenchModel));
  cpp = new LlamaCpp(path, { nCtx: prefill + decode + 8, threads: 1, kvType: "f16", flashAttention: "auto" });
}
try {
  const { script, wasm } = await bundle(dir);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [{ type: "ESModule", path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
      modulesRoot: dir,
      compatibilityDate: "2025-01-01",
    }),
  );
  try {
    const call = async (p: string) => {
      const res = await mf.dispatchFetch(`http://bench${p}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`workerd ${p}: ${text}`);
    };
    const timed = async (p: string) => {
      const t0 = performance.now();
      await call(p);
      return performance.now() - t0;
    };
    await call(`/load?model=${modelId}&backend=wasm-relaxed&prefill=${prefill}&decode=${decode}`);
    const wpid = workerdPid();
    const cycle = env.PLACE === "cycle" || env.PLACE === "same";
    const places = env.PLACE === "same" ? ([[0, 0], [1, 1]] as const) : ([[0, 0], [1, 1], [0, 1], [1, 0]] as const);
    const trips: number[] = [];
    for (let i = 0; i < 15; i++) trips.push(await timed("/noop"));
    const trip = median(trips);
    console.log(`${modelId} wasm-relaxed, workerd pid ${wpid}, CPP=${mode}, prefill ${prefill} decode ${decode}, empty trip ${trip.toFixed(2)} ms, ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").trim()}`);
    type Run = { wd: number; wdCpu: number; cpp: number; cppCpu: number };
    const runs: Run[] = [];
    const byPlace = new Map<string, Run[]>();
    for (let r = 0; r < rounds; r++) {
      const place = cycle ? places[r % places.length]! : null;
      if (place) {
        pinProcess(wpid, [place[0]]);
        pinThread(0, [place[1]]);
      }
      await call("/session");
      const pp = (await timed("/prefill")) - trip;
      const w0 = threads(wpid), s0 = threads(process.pid);
      const i0 = threadCpuMs(wpid);
      const d = (await timed("/decode")) - trip;
      const wdCpu = threadCpuMs(wpid) - i0;
      const w1 = threads(wpid), s1 = threads(process.pid);
      let line = `r${r}${place ? ` wd@${place[0]} cpp@${place[1]}` : ""} wd pp ${pp.toFixed(1)} tg ${d.toFixed(1)} ms (isolate cpu ${wdCpu.toFixed(1)})`;
      if (env.THREADS) line += ` [${delta(w0, w1, "wd")}; ${delta(s0, s1, "node")}]`;
      const run: Run = { wd: d, wdCpu, cpp: NaN, cppCpu: NaN };
      if (mode === "inproc" && cpp) {
        const c0 = threads(process.pid);
        const c = cpp.measureOnce({ pp: prefill, tg: decode });
        run.cpp = (decode * 1000) / c.tg;
        run.cppCpu = c.tgCpuMs;
        line += ` | cpp tg ${run.cpp.toFixed(1)} ms (cpu ${c.tgCpuMs.toFixed(1)}) on ${[...threads(process.pid)].find(([t]) => t === process.pid)?.[1].cpu}`;
        if (env.THREADS) line += ` [${delta(c0, threads(process.pid), "node")}]`;
      }
      runs.push(run);
      if (place) byPlace.set(place.join(), [...(byPlace.get(place.join()) ?? []), run]);
      console.log(line);
    }
    // Median (min–max) of a list, 3 decimals for ratios and 1 for ms.
    const mm = (a: number[], d = 1) => `${median(a).toFixed(d)} (${Math.min(...a).toFixed(d)}–${Math.max(...a).toFixed(d)})`;
    const summary = (rs: Run[]) =>
      `wd tg ${mm(rs.map((x) => x.wd))} ms, cpu ${mm(rs.map((x) => x.wdCpu))}` +
      (mode === "inproc" ? `; cpp tg ${mm(rs.map((x) => x.cpp))} ms, cpu ${mm(rs.map((x) => x.cppCpu))}; paired wd/cpp wall ${mm(rs.map((x) => x.wd / x.cpp), 3)} cpu ${mm(rs.map((x) => x.wdCpu / x.cppCpu), 3)}` : "") +
      ` (${rs.length} rounds)`;
    for (const [k, rs] of byPlace) console.log(`  workerd@${k[0]} llama.cpp@${k[2]}: ${summary(rs)}`);
    console.log(`all: ${summary(runs)}; ${new Date().toISOString()} load ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  } finally {
    await mf.dispose();
  }
} finally {
  cpp?.free();
  rmSync(dir, { recursive: true, force: true });
}
