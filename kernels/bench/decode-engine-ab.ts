// A/B of whole greedy decodes through two checkouts' engines (each with its own src and build/kernels), alternated per
// round in one Node process: the same bench model (synthetic, or a file from $EDGE_LLAMA_MODELS) loaded once per
// checkout, a fresh context per run.
// usage: npx tsx kernels/bench/decode-engine-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PREFILL=16 DECODE=64 ROUNDS=31. Prints µs per decoded token (median over rounds) and the median per-round A/B ratio.
import { loadCheckoutModel } from "./checkout-model";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: decode-engine-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const prefill = Number(env.PREFILL ?? 16), decode = Number(env.DECODE ?? 64), rounds = Number(env.ROUNDS ?? 31);

/** One decode run of the root's engine: prefill (untimed), then `decode` greedy steps; returns µs per token. */
async function runner(root: string): Promise<() => number> {
  const { mod, model, prompt } = await loadCheckoutModel(root, modelId, backend, prefill);
  const { BenchSession } = await mod("scripts/lib/bench-core.ts");
  return () => {
    const s = new BenchSession(model, prompt, decode);
    s.prefill();
    const t0 = performance.now();
    s.decodeAll();
    const us = ((performance.now() - t0) * 1000) / decode;
    s.dispose();
    return us;
  };
}

const runs = [await runner(rootA), await runner(rootB)];
for (let w = 0; w < 3; w++) for (const r of runs) r();
const times: [number[], number[]] = [[], []];
for (let i = 0; i < rounds; i++) {
  const order = i & 1 ? [1, 0] : [0, 1];
  for (const k of order) times[k]!.push(runs[k]!());
}
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`${modelId} ${backend}: ${decode} decoded tokens after ${prefill}, ${rounds} alternated rounds`);
console.log(`  A ${rootA}: ${median(times[0]).toFixed(1)} µs per token`);
console.log(`  B ${rootB}: ${median(times[1]).toFixed(1)} µs per token`);
console.log(`  B speed-up over A (median of per-round A/B ratios): x${median(times[0].map((a, i) => a / times[1][i]!)).toFixed(3)}`);
