// A/B of whole prompt prefills through two checkouts' engines (each with its own src and build/kernels), alternated per
// round in one Node process: the same bench model (synthetic, or a file from $EDGE_LLAMA_MODELS) loaded once per
// checkout, a fresh context per run; the last logits of both are checked equal.
// usage: npx tsx kernels/bench/prefill-engine-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PREFILL=128 ROUNDS=31. Prints ms per prefill (median over rounds) and the median per-round A/B ratio.
import { loadCheckoutModel } from "./checkout-model";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: prefill-engine-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const prefill = Number(env.PREFILL ?? 128), rounds = Number(env.ROUNDS ?? 31);

/** One prefill of the root's engine (a fresh session each time): returns ms and a hash of the logits it leaves. */
async function runner(root: string): Promise<() => { ms: number; hash: number }> {
  const { mod, model, prompt } = await loadCheckoutModel(root, modelId, backend, prefill);
  const { LlamaContext } = await mod("src/engine/context.ts");
  return () => {
    // As the bench's prefill (scripts/lib/bench-core.ts BenchSession): the prompt in one evaluate, the next logits.
    const ctx = new LlamaContext(model, { nCtx: prompt.length + 1 });
    const t0 = performance.now();
    const logits: Float32Array = ctx.evaluate(prompt);
    const ms = performance.now() - t0;
    const u = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
    let hash = 0;
    for (let i = 0; i < u.length; i++) hash = (Math.imul(hash, 31) + u[i]!) >>> 0;
    ctx.dispose();
    return { ms, hash };
  };
}

const runs = [await runner(rootA), await runner(rootB)];
for (let w = 0; w < 3; w++) {
  const [a, b] = runs.map((r) => r());
  if (a!.hash !== b!.hash) throw new Error(`the two engines' prefill logits differ (${a!.hash} vs ${b!.hash})`);
}
const times: [number[], number[]] = [[], []];
for (let i = 0; i < rounds; i++) {
  const order = i & 1 ? [1, 0] : [0, 1];
  for (const k of order) times[k]!.push(runs[k]!().ms);
}
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`${modelId} ${backend}: prefill of ${prefill} tokens, ${rounds} alternated rounds`);
console.log(`  A ${rootA}: ${median(times[0]).toFixed(2)} ms`);
console.log(`  B ${rootB}: ${median(times[1]).toFixed(2)} ms`);
console.log(`  B speed-up over A (median of per-round A/B ratios): x${median(times[0].map((a, i) => a / times[1][i]!)).toFixed(3)}`);
