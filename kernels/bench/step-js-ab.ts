// A/B of a decode step's JavaScript alone through two checkouts' engines: the bench model loaded per checkout, then
// its WasmBackend's kernel exports swapped for no-op functions, so a greedy step runs every op's JS and no kernel.
// usage: npx tsx kernels/bench/step-js-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0]  (env STEPS=2000 ROUNDS=31)
import { loadCheckoutModel } from "./checkout-model";

const [rootA, rootB, modelId = "k256-Q4_0"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: step-js-ab.ts <repo-root-A> <repo-root-B> [model]");
const steps = Number(process.env.STEPS ?? 2000), rounds = Number(process.env.ROUNDS ?? 31);

async function runner(root: string): Promise<() => number> {
  const { mod, model } = await loadCheckoutModel(root, modelId, "wasm-relaxed", 1);
  const { LlamaContext } = await mod("src/engine/context.ts");
  const holder = model.backend as unknown as { k: Record<string, unknown> };
  const stub: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(holder.k)) stub[name] = typeof v === "function" && !["heap_base", "is_relaxed"].includes(name) ? () => 0 : v;
  holder.k = stub;
  return () => {
    const ctx = new LlamaContext(model, { nCtx: steps + 2 });
    ctx.append([1]);
    ctx.nextPick();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      ctx.append([1]);
      ctx.nextPick();
    }
    const us = ((performance.now() - t0) * 1000) / steps;
    ctx.dispose();
    return us;
  };
}

const runs = [await runner(rootA), await runner(rootB)];
for (let w = 0; w < 3; w++) for (const r of runs) r();
const times: [number[], number[]] = [[], []];
for (let i = 0; i < rounds; i++) for (const k of i & 1 ? [1, 0] : [0, 1]) times[k]!.push(runs[k]!());
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`${modelId}: one step's JavaScript (kernels stubbed), ${steps} steps per round, ${rounds} rounds`);
console.log(`  A ${rootA}: ${median(times[0]).toFixed(2)} µs per step`);
console.log(`  B ${rootB}: ${median(times[1]).toFixed(2)} µs per step`);
console.log(`  B speed-up over A (median of per-round ratios): x${median(times[0].map((a, i) => a / times[1][i]!)).toFixed(3)}`);
