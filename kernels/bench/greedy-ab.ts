// Interleaved A/B of the greedy decode step, in Node and in workerd: whole rows (read out + JS argmax) vs greedy picks (wasm argmax).
// usage: npx tsx kernels/bench/greedy-ab.ts [models=stories15M-Q4_0,smollm2-135m-Q4_0] [backend=wasm-relaxed]
//   env: ROUNDS=15 PREFILL=16 DECODE=64 PICKS=200 RUNTIMES=node,workerd
// Then the pick alone, alternated the same way: PICKS picks of a vocabulary-sized row per timing (greedy-ab-sessions
// pickLoop), which isolates the step's difference from the decode's noise.
// Each round runs one session of each mode per runtime, in alternating order, on the same loaded model: the machine's
// load hits both alike. Node times decodeAll in-process; workerd is timed from outside around one /decode request
// (its clock stops during synchronous work), less the median round trip of an empty request. Prints medians of µs
// per decoded token and of the per-round difference rows − picks.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { benchPrompt, findModel, median, modelBytes } from "../../scripts/lib/bench-core";
import { bundle } from "../../scripts/lib/bench-workerd";
import { AB_MODES, abSession, pickLoop, type AbMode } from "./greedy-ab-sessions";

const env = process.env;
const models = (process.argv[2] ?? "stories15M-Q4_0,smollm2-135m-Q4_0").split(",");
const backend = process.argv[3] ?? "wasm-relaxed";
const rounds = Number(env.ROUNDS ?? 15), prefill = Number(env.PREFILL ?? 16), decode = Number(env.DECODE ?? 64);
const runtimes = (env.RUNTIMES ?? "node,workerd").split(",");
const picksPerTiming = Number(env.PICKS ?? 200);

type Timer = (mode: AbMode) => Promise<number>; // ms of one decodeAll
interface Timers {
  decode: Timer;
  /** ms of pickLoop(mode, PICKS) */
  pick: Timer;
}

async function nodeTimer(id: string): Promise<Timers> {
  const model = LlamaModel.load(modelBytes(findModel(id), () => new Uint8Array()), createBackend(backend));
  const prompt = benchPrompt(model.config.vocabSize, prefill);
  const decodeTimer: Timer = async (mode) => {
    const s = abSession(mode, model, prompt, decode);
    s.prefill();
    const t0 = performance.now();
    s.decodeAll();
    const ms = performance.now() - t0;
    s.dispose();
    return ms;
  };
  const pick: Timer = async (mode) => {
    const t0 = performance.now();
    pickLoop(model, mode, picksPerTiming);
    return performance.now() - t0;
  };
  return { decode: decodeTimer, pick };
}

async function workerdTimer(id: string, dir: string): Promise<{ timers: Timers; close: () => Promise<void> }> {
  const wasm = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
      modulesRoot: dir,
      compatibilityDate: "2025-01-01",
    }),
  );
  const call = async (path: string) => {
    const res = await mf.dispatchFetch(`http://ab${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${path}: ${text}`);
  };
  const timed = async (path: string) => {
    const t0 = performance.now();
    await call(path);
    return performance.now() - t0;
  };
  await call(`/load?model=${id}&backend=${backend}&prefill=${prefill}&decode=${decode}`);
  const empty: number[] = [];
  for (let i = 0; i < 9; i++) empty.push(await timed("/noop"));
  const rtt = async () => {
    empty.push(await timed("/noop"));
    return median(empty.slice(-9));
  };
  const decodeTimer: Timer = async (mode) => {
    await call(`/session?mode=${mode}`);
    const r = await rtt();
    return (await timed("/decode")) - r;
  };
  const pick: Timer = async (mode) => {
    const r = await rtt();
    return (await timed(`/pick?mode=${mode}&n=${picksPerTiming}`)) - r;
  };
  return { timers: { decode: decodeTimer, pick }, close: () => mf.dispose() };
}

const dir = mkdtempSync(join(tmpdir(), "edge-llama-greedy-ab-"));
try {
  if (runtimes.includes("workerd")) {
    await bundle(dir, fileURLToPath(new URL("./greedy-ab-worker.ts", import.meta.url)));
  }
  console.log(`greedy-ab ${new Date().toISOString()} backend=${backend} rounds=${rounds} prefill=${prefill} decode=${decode}`);
  for (const id of models) {
    for (const runtime of runtimes) {
      const w = runtime === "workerd" ? await workerdTimer(id, dir) : null;
      const timers = w ? w.timers : await nodeTimer(id);
      const f = (x: number) => x.toFixed(0);
      for (const what of ["decode", "pick"] as const) {
        const timer = timers[what];
        const per = what === "decode" ? decode : picksPerTiming;
        // Warm-up: both modes until V8 has tiered the kernels and the JS loops up.
        for (let i = 0; i < 3; i++) for (const m of AB_MODES) await timer(m);
        const us: Record<AbMode, number[]> = { rows: [], picks: [] };
        const diff: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 ? [...AB_MODES].reverse() : AB_MODES;
          const t: Partial<Record<AbMode, number>> = {};
          for (const m of order) us[m].push((t[m] = ((await timer(m)) * 1000) / per));
          diff.push(t.rows! - t.picks!);
        }
        const rows = median(us.rows), picks = median(us.picks);
        console.log(
          `${id} ${runtime} ${what === "decode" ? "decode step" : "pick alone"}: rows ${f(rows)} µs, picks ${f(picks)} µs; rows − picks per round: ` +
            `median ${f(median(diff))} µs (${((median(diff) / rows) * 100).toFixed(1)} % of rows; min ${f(Math.min(...diff))}, max ${f(Math.max(...diff))})`,
        );
      }
      await w?.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
