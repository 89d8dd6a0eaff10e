// A/B of whole greedy decodes (PHASE=decode) or prompt prefills (PHASE=prefill) through two checkouts' engines in
// workerd: each checkout's bench Worker (scripts/lib/bench-worker.ts, bundled from that checkout, so its own src and
// build/kernels) as one of two Workers of one workerd (two workerds showed the first started up to 12 % faster in an
// A/A run), the same synthetic model loaded in both, a fresh session per round, the rounds alternated. Timed from
// outside around one /decode or /prefill request (workerd's clock stops during synchronous work), less an empty
// request's (the median of the Worker's last 9, one before each run): by the CPU time of workerd's main thread, which
// runs both isolates (read as scripts/lib/bench-workerd.ts reads it), with each round's two runs pinned to one CPU,
// CPUs in turn, the wall time beside (ab-pinning.ts); where that is unavailable, by the wall clock, unpinned.
// usage: npx tsx kernels/bench/engine-workerd-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PHASE=decode|prefill PREFILL=16 (decode) or 128 (prefill) DECODE=64 ROUNDS=31. Prints µs per decoded token or
// ms per prefill (medians) and the median per-round A/B ratio.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { bundle } from "../../scripts/lib/bench-workerd";
import { childPids } from "../../scripts/lib/thread-cpu";
import { AbClock, abReport, abRounds, median, workerdThread, type AbRun, type Timing } from "./ab-pinning";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: engine-workerd-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const phase = env.PHASE ?? "decode";
if (phase !== "decode" && phase !== "prefill") throw new Error(`PHASE must be decode or prefill, not ${phase}`);
const prefill = Number(env.PREFILL ?? (phase === "prefill" ? 128 : 16)), decode = Number(env.DECODE ?? 64), rounds = Number(env.ROUNDS ?? 31);

/** The roots' bench Workers bundled into dirs, as workers a and b of one workerd (one process: the same placement). */
async function start(roots: readonly string[], dirs: readonly string[]) {
  const workers = [];
  for (let i = 0; i < roots.length; i++) {
    const { script, wasm } = await bundle(dirs[i]!, join(roots[i]!, "scripts/lib/bench-worker.ts"));
    workers.push({
      name: "ab"[i]!,
      modules: [{ type: "ESModule" as const, path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dirs[i]!, f) }))],
      modulesRoot: dirs[i]!,
      compatibilityDate: "2025-01-01",
    });
  }
  const before = new Set(childPids("workerd"));
  const mf = new Miniflare(convertV4MiniflareOptions({ workers }));
  await mf.ready;
  // The workerd started here: the child of ours that was not there before (null if unsure: then the wall clock).
  const started = childPids("workerd").filter((p) => !before.has(p));
  return { mf, pid: started.length === 1 ? started[0]! : null };
}

/**
 * Worker `name` of mf with the model loaded; returns one timed run of the phase, less an empty request's time: the
 * median of this Worker's last 9, one timed just before each run. (15 timed once up front, A's first, left A's about
 * 0.5 ms of CPU larger than B's, workerd's request path still warming up, which put A ahead by 2 % in prefill A/As.)
 */
async function runner(mf: Miniflare, name: string, clock: AbClock): Promise<() => Promise<AbRun>> {
  const worker = await mf.getWorker(name);
  const call = async (path: string) => {
    const res = await worker.fetch(`http://bench${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${name} ${path}: ${text}`);
  };
  await call(`/load?model=${modelId}&backend=${backend}&prefill=${prefill}&decode=${decode}`);
  const trips: Timing[] = [];
  return async () => {
    await call("/session");
    if (phase === "decode") await call("/prefill");
    trips.push(await clock.time(() => call("/noop")));
    const t = await clock.time(() => call(phase === "prefill" ? "/prefill" : "/decode"));
    const last = trips.slice(-9);
    return { wall: t.wall - median(last.map((e) => e.wall)), cpu: t.cpu - median(last.map((e) => e.cpu)) };
  };
}

const dirs = [mkdtempSync(join(tmpdir(), "engine-wab-a-")), mkdtempSync(join(tmpdir(), "engine-wab-b-"))];
try {
  const { mf, pid } = await start([rootA, rootB], dirs);
  try {
    const clock = new AbClock(workerdThread(pid));
    const times = await abRounds(clock, [await runner(mf, "a", clock), await runner(mf, "b", clock)], 3, rounds);
    const what = phase === "prefill" ? `prefill of ${prefill} tokens` : `${decode} decoded tokens after ${prefill}`;
    console.log(`${modelId} ${backend} in workerd (one process, two Workers): ${what}, ${rounds} alternated rounds`);
    const [unit, digits, value] = phase === "prefill" ? ["ms per prefill", 2, (ms: number) => ms] : ["µs per token", 1, (ms: number) => (ms * 1000) / decode];
    for (const line of abReport(clock, [rootA, rootB], times, unit, digits, value)) console.log(line);
  } finally {
    await mf.dispose();
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
