// A/B of whole prompt prefills through two checkouts' engines (each with its own src and build/kernels), alternated per
// round in one Node process: the same bench model (synthetic, or a file from $EDGE_LLAMA_MODELS) loaded once per
// checkout, a fresh context per run; the last logits of both are checked equal every round. Each round's two runs are
// pinned to one CPU (CPUs in turn) and timed by this thread's CPU time, the wall time beside (ab-pinning.ts); off
// Linux, by the wall clock, unpinned.
// usage: npx tsx kernels/bench/prefill-engine-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PREFILL=128 ROUNDS=31. Prints ms per prefill (median over rounds) and the median per-round A/B ratio.
import { loadCheckoutModel } from "./checkout-model";
import { AbClock, abReport, abRounds, nodeThread, type AbRun } from "./ab-pinning";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: prefill-engine-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const prefill = Number(env.PREFILL ?? 128), rounds = Number(env.ROUNDS ?? 31);
const clock = new AbClock(nodeThread);

/** One prefill of the root's engine (a fresh session each time): its time, and a hash of the logits it leaves. */
async function runner(root: string): Promise<() => Promise<AbRun>> {
  const { mod, model, prompt } = await loadCheckoutModel(root, modelId, backend, prefill);
  const { LlamaContext } = await mod("src/engine/context.ts");
  return async () => {
    // As the bench's prefill (scripts/lib/bench-core.ts BenchSession): the prompt in one evaluate, the next logits.
    const ctx = new LlamaContext(model, { nCtx: prompt.length + 1 });
    let logits = new Float32Array(0);
    const t = await clock.time(() => (logits = ctx.evaluate(prompt)));
    const u = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
    let hash = 0;
    for (let i = 0; i < u.length; i++) hash = (Math.imul(hash, 31) + u[i]!) >>> 0;
    ctx.dispose();
    return { ...t, check: hash };
  };
}

const times = await abRounds(clock, [await runner(rootA), await runner(rootB)], 3, rounds);
console.log(`${modelId} ${backend}: prefill of ${prefill} tokens, ${rounds} alternated rounds`);
for (const line of abReport(clock, [rootA, rootB], times, "ms", 2, (ms) => ms)) console.log(line);
