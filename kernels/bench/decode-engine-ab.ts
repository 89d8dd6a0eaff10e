// A/B of whole greedy decodes through two checkouts' engines (each with its own src and build/kernels), alternated per
// round in one Node process: the same bench model (synthetic, or a file from $EDGE_LLAMA_MODELS) loaded once per
// checkout, a fresh context per run. Each round's two runs are pinned to one CPU (CPUs in turn) and timed by this
// thread's CPU time, the wall time beside (ab-pinning.ts); off Linux, by the wall clock, unpinned.
// usage: npx tsx kernels/bench/decode-engine-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PREFILL=16 DECODE=64 ROUNDS=31. Prints µs per decoded token (median over rounds) and the median per-round A/B ratio.
import { loadCheckoutModel } from "./checkout-model";
import { AbClock, abReport, abRounds, nodeThread, type AbRun } from "./ab-pinning";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: decode-engine-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const prefill = Number(env.PREFILL ?? 16), decode = Number(env.DECODE ?? 64), rounds = Number(env.ROUNDS ?? 31);
const clock = new AbClock(nodeThread);

/** One decode run of the root's engine: prefill (untimed), then `decode` greedy steps, timed. */
async function runner(root: string): Promise<() => Promise<AbRun>> {
  const { mod, model, prompt } = await loadCheckoutModel(root, modelId, backend, prefill);
  const { BenchSession } = await mod("scripts/lib/bench-core.ts");
  return async () => {
    const s = new BenchSession(model, prompt, decode);
    s.prefill();
    const t = await clock.time(() => s.decodeAll());
    s.dispose();
    return t;
  };
}

const times = await abRounds(clock, [await runner(rootA), await runner(rootB)], 3, rounds);
console.log(`${modelId} ${backend}: ${decode} decoded tokens after ${prefill}, ${rounds} alternated rounds`);
for (const line of abReport(clock, [rootA, rootB], times, "µs per token", 1, (ms) => (ms * 1000) / decode)) console.log(line);
