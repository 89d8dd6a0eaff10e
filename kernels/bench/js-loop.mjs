// Times plain JavaScript loops over 32,000 elements in Node and in workerd (miniflare), alternated: V8's JS tiers there.
// usage: node kernels/bench/js-loop.mjs   env: VARIANTS=";--no-maglev" (';'-separated MINIFLARE_WORKERD_V8_FLAGS, one
//        workerd each; "" = workerd's defaults) REPS=300 (calls per request) ROUNDS=9
// Each case runs REPS calls inside one request (workerd's clock stands still, so a request is timed from outside less
// an empty one's round trip) and REPS calls in this process; results must agree. argmax is the bench's (bench-core).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const worker = `function argmax(a) { let best = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i; return best; }
function sumF32(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
function sumInt(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + Math.imul(i, i)) | 0; return s; }
const N = 32000;
const row = new Float32Array(N);
for (let i = 0; i < N; i++) row[i] = Math.sin(i * 0.37) * 10;
const cases = { argmax: () => argmax(row), sumF32: () => sumF32(row), sumInt: () => sumInt(N) };
export function run(name, reps) { let r = 0; const f = cases[name]; for (let i = 0; i < reps; i++) r += f(); return r; }
export default { async fetch(req) {
  const u = new URL(req.url);
  if (u.pathname === "/noop") return new Response("0");
  return new Response(String(run(u.pathname.slice(1), Number(u.searchParams.get("reps")))));
} };
`;
const dir = mkdtempSync(join(tmpdir(), "edge-llama-js-loop-"));
const path = join(dir, "worker.mjs");
writeFileSync(path, worker);
const { run } = await import(path);
const variants = (process.env.VARIANTS ?? ";--no-maglev").split(";");
const reps = Number(process.env.REPS ?? 300), rounds = Number(process.env.ROUNDS ?? 9);
const names = ["argmax", "sumF32", "sumInt"];
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const mfs = [];
try {
  for (const v of variants) {
    process.env.MINIFLARE_WORKERD_V8_FLAGS = v; // read when miniflare starts workerd
    const mf = new Miniflare(convertV4MiniflareOptions({ modules: [{ type: "ESModule", path }], modulesRoot: dir, compatibilityDate: "2025-01-01" }));
    await mf.ready;
    mfs.push(mf);
  }
  const call = async (mf, p) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://x${p}`)).text();
    return [performance.now() - t0, text];
  };
  const rtts = [];
  for (const mf of mfs) {
    const e = [];
    for (let i = 0; i < 15; i++) e.push((await call(mf, "/noop"))[0]);
    rtts.push(med(e.slice(5)));
  }
  for (const n of names) { // warm-up: every engine tiers the loops up before timing
    run(n, 50);
    for (const mf of mfs) await call(mf, `/${n}?reps=50`);
  }
  const us = Object.fromEntries(names.map((n) => [n, variants.map(() => []).concat([[]])]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const t0 = performance.now();
      const a = run(n, reps);
      us[n][0].push(((performance.now() - t0) * 1000) / reps);
      for (let i = 0; i < mfs.length; i++) {
        const [ms, b] = await call(mfs[i], `/${n}?reps=${reps}`);
        if (String(a) !== b) throw new Error(`${n}: Node ${a} but workerd ${b}`);
        us[n][i + 1].push(((ms - rtts[i]) * 1000) / reps);
      }
    }
  }
  console.log(`µs per call (median of ${rounds} alternated rounds x ${reps} calls); empty round trips ${rtts.map((x) => x.toFixed(2)).join(", ")} ms`);
  console.log(`${"".padEnd(8)} ${"node".padStart(10)} ${variants.map((v) => `workerd ${v}`.trim().padStart(22)).join(" ")}`);
  for (const n of names) console.log(`${n.padEnd(8)} ${med(us[n][0]).toFixed(1).padStart(10)} ${us[n].slice(1).map((x) => med(x).toFixed(1).padStart(22)).join(" ")}`);
} finally {
  for (const mf of mfs) await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
