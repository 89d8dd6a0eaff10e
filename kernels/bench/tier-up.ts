// Tier-up curve of the shipped kernels: times each call of one matmul from a fresh module, in Node and in workerd.
// usage: npx tsx kernels/bench/tier-up.ts [calls=200]
//   env: BUILD=relaxed|simd128 (WASM=file overrides the path) TYPE=Q4_K ROWS=4096 COLS=4096 TOKENS=1 (decode; e.g. TOKENS=16 for a prefill tile)
//        WARM=0|1 (run warmKernels, the product's load-time warm-up, before call 1) GAP_MS=0 (idle time before call 1,
//        as loading the weights would give the background compiler) REPEAT=5 RUNTIMES=node,workerd
//        (not NODE=0: npx sets NODE to its node binary)
// Each repetition compiles the module afresh (a custom section numbers the copies, so V8's module cache cannot hand
// back tiered code) and, in workerd, starts a fresh workerd; per call index the median over repetitions is shown.
// Node runs with its default V8 flags, workerd with miniflare's (none unless MINIFLARE_WORKERD_V8_FLAGS is set), so
// what is timed is the default dynamic tiering. Every call is timed on its own: Node with performance.now around
// the call, workerd as a fetch round trip less the median empty one (its clock stands still during synchronous work).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { kquantCalls } from "./kquant-call";
import * as repack from "../../src/backends/wasm/repack-kquant";

const env = process.env;
const calls = Number(process.argv[2] ?? 200);
const build = env.BUILD ?? "relaxed", type = env.TYPE ?? "Q4_K";
const rows = Number(env.ROWS ?? 4096), cols = Number(env.COLS ?? 4096), nTok = Number(env.TOKENS ?? 1);
const wasmPath = env.WASM ?? `build/kernels/${build}.wasm`; // WASM: another file of the same build
const fn = `matmul_${type.toLowerCase()}`;

/** Packs weights and quantized activations into a fresh instance's memory: the matmul's arguments and the image. */
function setup(inst: WebAssembly.Instance) {
  const { k, mem, calls: byType } = kquantCalls(inst, repack, [type], rows, cols, nTok);
  return { k, args: byType.get(type)!, top: mem.alloc(64) };
}

/** FNV-1a over the output bytes, so both runtimes' results can be compared. */
const SUM = `function sum(buf, p, n) { const b = new Uint8Array(buf, p, n); let h = 2166136261; for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 16777619) >>> 0; return h; }`;
const sum = new Function(`${SUM}; return sum;`)() as (buf: ArrayBuffer, p: number, n: number) => number;
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

const base = readFileSync(wasmPath);
const runtimes = (env.RUNTIMES ?? "node,workerd").split(",");
const repeat = Number(env.REPEAT ?? 5), warmOn = env.WARM === "1", gap = Number(env.GAP_MS ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The kernel bytes plus a custom section "rep" holding n: a distinct module for V8, the same code. */
const copy = (n: number) => new Uint8Array(Buffer.concat([base, Buffer.from([0, 6, 3, ...Buffer.from("rep"), n & 0x7f, n >> 7])]));
const outBytes = nTok * rows * 4;
const { warmKernels } = await import("./warm-kernels");

/** Node: every call of a fresh module's matmul timed alone; the output's checksum. */
async function nodeRun(bytes: Uint8Array<ArrayBuffer>) {
  const mod = new WebAssembly.Module(bytes);
  const s = setup(new WebAssembly.Instance(mod, {}));
  let warm = 0;
  if (warmOn) {
    const t0 = performance.now();
    warmKernels(mod);
    warm = performance.now() - t0;
  }
  await sleep(gap);
  const f = s.k[fn]!, ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    f(...s.args);
    ms.push(performance.now() - t0);
  }
  return { ms, warm, check: sum(s.k.memory.buffer, s.args[0]!, outBytes), s };
}

/** workerd: a fresh workerd per run; the image Node packed is posted into a fresh instance (packing runs no matmul). */
async function workerdRun(bytes: Uint8Array<ArrayBuffer>, s: ReturnType<typeof setup>) {
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-tier-up-"));
  writeFileSync(join(dir, "k.wasm"), bytes);
  // The warm-up is bundled from src (esbuild) so the product's own code runs; without WARM it is not called.
  const { build: esbuild } = await import("esbuild");
  await esbuild({
    stdin: { contents: `export { warmKernels } from "./kernels/bench/warm-kernels";`, resolveDir: process.cwd() },
    outfile: join(dir, "warm.js"), bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "error",
  });
  writeFileSync(join(dir, "worker.js"), `import mod from "./k.wasm"; import { warmKernels } from "./warm.js";
${SUM}
const ARGS = ${JSON.stringify(s.args)};
let inst = null;
export default { async fetch(req) {
  const u = new URL(req.url);
  if (u.pathname === "/noop") return new Response("0");
  if (u.pathname === "/load") {
    const img = new Uint8Array(await req.arrayBuffer());
    inst = new WebAssembly.Instance(mod, {});
    const m = inst.exports.memory, have = m.buffer.byteLength;
    if (img.length > have) m.grow(Math.ceil((img.length - have) / 65536));
    new Uint8Array(m.buffer).set(img);
    return new Response("ok");
  }
  if (u.pathname === "/warm") { warmKernels(mod); return new Response("ok"); }
  if (u.pathname === "/sum") return new Response(String(sum(inst.exports.memory.buffer, ARGS[0], ${outBytes})));
  inst.exports["${fn}"](...ARGS);
  return new Response("ok");
} };`);
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: join(dir, "worker.js") }, { type: "ESModule", path: join(dir, "warm.js") }, { type: "CompiledWasm", path: join(dir, "k.wasm") }],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  }));
  try {
    const call = async (path: string, body?: Uint8Array) => {
      const t0 = performance.now();
      const text = await (await mf.dispatchFetch(`http://bench${path}`, body ? { method: "POST", body } : {})).text();
      return { ms: performance.now() - t0, text };
    };
    await call("/load", new Uint8Array(s.k.memory.buffer, 0, s.top));
    // An empty request's round trip drifts with the machine's load: each call is paired with the median of the last 9
    // empty ones, one taken right before it.
    const empty: number[] = [];
    for (let i = 0; i < 20; i++) empty.push((await call("/noop")).ms);
    const rtt = async () => {
      empty.push((await call("/noop")).ms);
      return median(empty.slice(-9));
    };
    let warm = 0;
    if (warmOn) warm = (await call("/warm")).ms - (await rtt());
    await sleep(gap);
    const ms: number[] = [];
    for (let i = 0; i < calls; i++) {
      const r = await rtt();
      ms.push((await call("/run")).ms - r);
    }
    return { ms, warm, check: Number((await call("/sum")).text), rtt: median(empty) };
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per call index, the median over repetitions; then where it settles. */
function report(rt: string, runs: { ms: number[]; warm: number }[]) {
  const ms = runs[0]!.ms.map((_, i) => median(runs.map((r) => r.ms[i]!)));
  const tail = Math.min(50, ms.length >> 2);
  const steady = median(ms.slice(-tail));
  // The first call from which the median of the next 10 calls is within 1.3x of the steady time (single calls are
  // noisy on a shared machine), and the time spent in the calls before it.
  let settle = 0;
  while (settle < ms.length - 10 && median(ms.slice(settle, settle + 10)) > steady * 1.3) settle++;
  const spent = ms.slice(0, settle).reduce((a, b) => a + b, 0);
  const first5 = ms.slice(0, 5).reduce((a, b) => a + b, 0);
  const pick = [1, 2, 3, 4, 5, 10, 20, 50, 100, 150, 200].filter((i) => i <= ms.length);
  const warm = warmOn ? `; warm-up ${median(runs.map((r) => r.warm)).toFixed(1)} ms` : "";
  console.log(`${rt}${warm}: steady ${steady.toFixed(2)} ms (median of the last ${tail}); first 5 calls ${first5.toFixed(1)} ms` +
    ` (${(first5 / steady / 5).toFixed(2)}x steady); next 10 within 1.3x from call ${settle + 1} (${spent.toFixed(1)} ms before it)`);
  console.log(`  ms per call: ${pick.map((i) => `${i}:${ms[i - 1]!.toFixed(2)}`).join(" ")}`);
}

console.log(`${build} build, ${fn} ${rows}x${cols}, ${nTok} token(s), ${calls} calls from a fresh module, ${repeat} repetitions` +
  `${warmOn ? ", after warmKernels" : ""}${gap ? `, ${gap} ms idle before call 1` : ""}; ${new Date().toISOString()}`);
const nodeRuns = [], workerdRuns = [];
let rtt = 0;
for (let r = 0; r < repeat; r++) {
  const bytes = copy(r);
  const n = await nodeRun(bytes);
  if (runtimes.includes("node")) nodeRuns.push(n);
  if (runtimes.includes("workerd")) {
    const w = await workerdRun(bytes, n.s);
    if (w.check !== n.check) throw new Error("workerd's output differs from Node's");
    rtt = w.rtt;
    workerdRuns.push(w);
  }
}
console.log("outputs identical in both runtimes and every repetition:", new Set(nodeRuns.map((r) => r.check)).size <= 1);
if (nodeRuns.length) report(`node ${process.versions.node} (V8 ${process.versions.v8}, default flags)`, nodeRuns);
if (workerdRuns.length) report(`workerd (miniflare, V8 flags: ${env.MINIFLARE_WORKERD_V8_FLAGS || "none"}; empty round trip ~${rtt.toFixed(1)} ms)`, workerdRuns);
