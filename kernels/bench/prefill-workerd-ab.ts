// A/B of whole prompt prefills in workerd through two checkouts' bench Workers (each bundled from its own src and
// build/kernels by its own scripts/lib/bench-workerd.ts), alternated per round, each in a workerd of its own.
// usage: npx tsx kernels/bench/prefill-workerd-ab.ts <repo-root-A> <repo-root-B> [model=k256-Q4_0] [backend=wasm-relaxed]
// env: PREFILL=128 ROUNDS=21 WARM=4 (unmeasured prefills per checkout first: V8 tiers the kernels up in the background).
// A prefill's time is its request's round trip less the median of 5 empty ones taken just before (workerd's clock
// stands still during synchronous work). Prints ms per prefill (median over rounds) and the median per-round A/B ratio.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const [rootA, rootB, modelId = "k256-Q4_0", backend = "wasm-relaxed"] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error("usage: prefill-workerd-ab.ts <repo-root-A> <repo-root-B> [model] [backend]");
const env = process.env;
const prefill = Number(env.PREFILL ?? 128), rounds = Number(env.ROUNDS ?? 21), warm = Number(env.WARM ?? 4);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** The root's bench Worker in a workerd of its own, the model loaded: returns one timed prefill (ms) and a closer. */
async function start(root: string): Promise<{ prefill: () => Promise<number>; close: () => Promise<void> }> {
  const { bundle } = (await import(pathToFileURL(join(root, "scripts/lib/bench-workerd.ts")).href)) as {
    bundle: (dir: string) => Promise<{ script: string; wasm: string[] }>;
  };
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-prefill-ab-"));
  const { script, wasm } = await bundle(dir);
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  } as Parameters<typeof convertV4MiniflareOptions>[0]));
  const call = async (path: string): Promise<number> => {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(`http://bench${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`${root} ${path}: ${text}`);
    return performance.now() - t0;
  };
  await call(`/load?model=${modelId}&backend=${backend}&prefill=${prefill}&decode=1`);
  const once = async () => {
    await call("/session");
    const empty: number[] = [];
    for (let i = 0; i < 5; i++) empty.push(await call("/noop"));
    return (await call("/prefill")) - median(empty);
  };
  for (let i = 0; i < warm; i++) await once();
  return {
    prefill: once,
    close: async () => {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const a = await start(rootA);
const b = await start(rootB);
try {
  const ms: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so a drift in the machine's load hits both alike.
    if (r % 2) {
      ms[1].push(await b.prefill());
      ms[0].push(await a.prefill());
    } else {
      ms[0].push(await a.prefill());
      ms[1].push(await b.prefill());
    }
  }
  console.log(`${modelId} ${backend} in workerd: prefill of ${prefill} tokens, ${rounds} alternated rounds after ${warm} warm-up prefills each`);
  console.log(`  A ${rootA}: ${median(ms[0]).toFixed(2)} ms`);
  console.log(`  B ${rootB}: ${median(ms[1]).toFixed(2)} ms`);
  console.log(`  B speed-up over A (median of per-round A/B ratios): x${median(ms[0].map((v, i) => v / ms[1][i]!)).toFixed(3)}`);
} finally {
  await a.close();
  await b.close();
}
