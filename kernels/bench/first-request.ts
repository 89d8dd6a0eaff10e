// First request in a fresh workerd, with and without the load-time kernel warm-up (kernels/bench/warm-kernels.ts).
// usage: npx tsx kernels/bench/first-request.ts [model=smollm2-135m-Q4_K_M] [reps=4]   env: BACKEND=wasm-relaxed
//   PREFILL=32 DECODE=16. Each repetition starts a fresh workerd (nothing tiered up), alternating without/with warm-up:
//   [warm-up], load the synthetic model, then prefill and decode twice (the 2nd pass shows the steady speed), each
//   timed from Node as a fetch round trip less the median of the last 9 empty ones (workerd's clock stands still).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { bundle } from "../../scripts/lib/bench-workerd";

const model = process.argv[2] ?? "smollm2-135m-Q4_K_M", reps = Number(process.argv[3] ?? 4);
const backend = process.env.BACKEND ?? "wasm-relaxed";
const prefill = Number(process.env.PREFILL ?? 32), decode = Number(process.env.DECODE ?? 16);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

const dir = mkdtempSync(join(tmpdir(), "edge-llama-first-request-"));
type Times = Record<"warm" | "load" | "prefill1" | "decode1" | "prefill2" | "decode2", number>;
async function once(warm: boolean, script: string, wasm: string[]): Promise<Times> {
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  }));
  try {
    const timed = async (path: string) => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch(`http://bench${path}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`${path}: ${text}`);
      return performance.now() - t0;
    };
    const empty: number[] = [];
    for (let i = 0; i < 12; i++) empty.push(await timed("/noop"));
    const phase = async (path: string) => {
      empty.push(await timed("/noop"));
      const r = median(empty.slice(-9));
      return (await timed(path)) - r;
    };
    const t = { warm: 0 } as Times;
    if (warm) t.warm = await phase(`/warm?build=${backend === "wasm-simd128" ? "simd128" : "relaxed"}`);
    t.load = await phase(`/load?model=${model}&backend=${backend}&prefill=${prefill}&decode=${decode}`);
    for (const pass of [1, 2] as const) {
      await timed("/session");
      t[`prefill${pass}`] = await phase("/prefill");
      t[`decode${pass}`] = await phase("/decode");
    }
    return t;
  } finally {
    await mf.dispose();
  }
}

try {
  const { script, wasm } = await bundle(dir);
  const runs: Record<"cold" | "warm", Times[]> = { cold: [], warm: [] };
  for (let r = 0; r < reps; r++) {
    runs.cold.push(await once(false, script, wasm));
    runs.warm.push(await once(true, script, wasm));
  }
  console.log(`${model} ${backend} in a fresh workerd, prefill ${prefill} tokens, decode ${decode}; ms, median of ${reps}; ${new Date().toISOString()}`);
  const keys = ["warm", "load", "prefill1", "decode1", "prefill2", "decode2"] as const;
  console.log(`  ${"".padEnd(14)}${keys.map((k) => k.padStart(9)).join("")}  first request (prefill1+decode1)`);
  for (const [name, ts] of Object.entries(runs)) {
    const m = keys.map((k) => median(ts.map((t) => t[k])));
    const first = median(ts.map((t) => t.prefill1 + t.decode1));
    console.log(`  ${(name === "warm" ? "with warm-up" : "no warm-up").padEnd(14)}${m.map((v) => v.toFixed(1).padStart(9)).join("")}  ${first.toFixed(1)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
