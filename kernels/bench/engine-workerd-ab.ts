// A/B of whole greedy decodes (PHASE=decode) or prompt prefills (PHASE=prefill) through two checkouts' engines in
// workerd: each checkout's bench Worker (scripts/lib/bench-worker.ts, bundled from that checkout, so its own src and
// build/kernels) as one of two Workers of one workerd (two workerds showed the first started up to 12 % faster in an
// A/A run), the same synthetic model loaded in both, a fresh session per round, the rounds alternated. Timed from
// outside around one /decode or /prefill request (workerd's clock stops during synchronous work), less the median
// empty round trip.
// usage: npx tsx kernels/bench/engine-workerd-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PHASE=decode|prefill PREFILL=16 (decode) or 128 (prefill) DECODE=64 ROUNDS=31. Prints µs per decoded token or
// ms per prefill (medians) and the median per-round A/B ratio.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { bundle } from "../../scripts/lib/bench-workerd";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: engine-workerd-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const phase = env.PHASE ?? "decode";
if (phase !== "decode" && phase !== "prefill") throw new Error(`PHASE must be decode or prefill, not ${phase}`);
const prefill = Number(env.PREFILL ?? (phase === "prefill" ? 128 : 16)), decode = Number(env.DECODE ?? 64), rounds = Number(env.ROUNDS ?? 31);
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

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
  return new Miniflare(convertV4MiniflareOptions({ workers }));
}

/** Worker `name` of mf with the model loaded; returns one timed run of the phase (decode: µs per token; prefill: ms). */
async function runner(mf: Miniflare, name: string) {
  const worker = await mf.getWorker(name);
  const call = async (path: string) => {
    const res = await worker.fetch(`http://bench${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${name} ${path}: ${text}`);
  };
  const timed = async (path: string) => {
    const t0 = performance.now();
    await call(path);
    return performance.now() - t0;
  };
  await call(`/load?model=${modelId}&backend=${backend}&prefill=${prefill}&decode=${decode}`);
  const trips: number[] = [];
  for (let i = 0; i < 15; i++) trips.push(await timed("/noop"));
  const trip = median(trips);
  return async () => {
    await call("/session");
    if (phase === "prefill") return (await timed("/prefill")) - trip;
    await call("/prefill");
    return (((await timed("/decode")) - trip) * 1000) / decode;
  };
}

const dirs = [mkdtempSync(join(tmpdir(), "engine-wab-a-")), mkdtempSync(join(tmpdir(), "engine-wab-b-"))];
try {
  const mf = await start([rootA, rootB], dirs);
  try {
    const runs = [await runner(mf, "a"), await runner(mf, "b")];
    for (let w = 0; w < 3; w++) for (const r of runs) await r();
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < rounds; i++) for (const k of i & 1 ? [1, 0] : [0, 1]) times[k]!.push(await runs[k]!());
    const what = phase === "prefill" ? `prefill of ${prefill} tokens` : `${decode} decoded tokens after ${prefill}`;
    const unit = phase === "prefill" ? "ms per prefill" : "µs per token";
    console.log(`${modelId} ${backend} in workerd (one process, two Workers): ${what}, ${rounds} alternated rounds`);
    console.log(`  A ${rootA}: ${median(times[0]).toFixed(phase === "prefill" ? 2 : 1)} ${unit}`);
    console.log(`  B ${rootB}: ${median(times[1]).toFixed(phase === "prefill" ? 2 : 1)} ${unit}`);
    console.log(`  B speed-up over A (median of per-round A/B ratios): x${median(times[0].map((a, i) => a / times[1][i]!)).toFixed(3)}`);
  } finally {
    await mf.dispose();
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
