// Interleaved A/B of two kernel builds' K-quant matmuls (each with its own repack) in Node and workerd: µs per call.
// usage: npx tsx kernels/bench/kquant-ab.ts <base.wasm> <base-repack.ts> [new.wasm=build/kernels/relaxed.wasm]
//   env: TYPES=Q4_K,Q5_K,Q6_K ROWS=1024 COLS=2048 TOKENS=1 ROUNDS=15 REPS=20 WREPS=10·REPS (workerd) WORKERD=1 FUSED
// CPU=1 (default 0) times CPU time instead of wall time (Node: process.cpuUsage; workerd: its process's threads'
// schedstat run time, Linux): on a machine shared with busy processes, wall time also counts the time slices others got.
// NOCHECK=1 skips the bit-identity check below: for ablations (a build with steps removed), wrong on purpose.
// Both builds get the same file bytes and activations; the script checks that their outputs are bit-identical. Every
// round instantiates both afresh (the same compiled code): where an instance's memory lands moved its timing by up to
// 1.6x on this machine, so a fixed pair of instances could favour either side for a whole run.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { kquantCalls } from "./kquant-call";
import * as newRepack from "../../src/backends/wasm/repack-kquant";


const [basePath, baseRepackPath, newPath = "build/kernels/relaxed.wasm"] = process.argv.slice(2);
if (!basePath || !baseRepackPath) throw new Error("usage: kquant-ab.ts <base.wasm> <base-repack.ts> [new.wasm]");
const env = process.env;
const types = (env.TYPES ?? "Q4_K,Q5_K,Q6_K").split(",");
const rows = Number(env.ROWS ?? 1024), cols = Number(env.COLS ?? 2048), nTok = Number(env.TOKENS ?? 1);
const rounds = Number(env.ROUNDS ?? 15), reps = Number(env.REPS ?? 20), wreps = Number(env.WREPS ?? 10 * reps);
const baseRepack = (await import(resolve(baseRepackPath))) as typeof newRepack;
const fnName = (t: string) => `matmul_${t.toLowerCase()}`;
/** ms: this process's CPU time with CPU=1 (the timed calls run on its one JS thread), else wall time. */
const clock = env.CPU === "1" ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();

/** One build's fresh instance with weights packed and activations quantized: the arguments of its matmul call per type. */
function setup(mod: WebAssembly.Module, repack: typeof newRepack) {
  const { k, mem, relaxed, calls } = kquantCalls(new WebAssembly.Instance(mod, {}), repack, types, rows, cols, nTok);
  // FUSED=1: Node takes the fused dot-add paths workerd takes (their sums are exact on any lowering); with
  // `node --disable-wasm-trap-handler --import tsx` its loads then carry workerd's bounds checks, timed in-process.
  if (env.FUSED) k.set_dot_add_fused!(Number(env.FUSED));
  return { k, calls, relaxed, top: mem.alloc(64) };
}

// Node compiles both builds with the optimizing tier up front: on a loaded machine the background tier-up could leave
// one side in the baseline tier (about 5x slower) for many rounds. workerd tiers up by itself: warm-up rounds first.
setFlagsFromString("--no-liftoff");
const mods = { base: new WebAssembly.Module(readFileSync(basePath)), new: new WebAssembly.Module(readFileSync(newPath)) };
const fresh = () => ({ base: setup(mods.base, baseRepack), new: setup(mods.new, newRepack) });
let sides = fresh();
if (sides.base.relaxed !== sides.new.relaxed) throw new Error("builds differ in relaxed SIMD");
const outOf = (s: typeof sides.base, t: string) => {
  const a = s.calls.get(t)!;
  s.k[fnName(t)]!(...a);
  return new Uint8Array(s.k.memory.buffer, a[0], nTok * rows * 4).slice();
};
for (const t of env.NOCHECK ? [] : types) {
  const a = outOf(sides.base, t), b = outOf(sides.new, t);
  if (a.some((v, i) => v !== b[i])) throw new Error(`${t}: outputs differ between the builds`);
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
// The fastest round as well: other processes on a shared machine only ever add time, so on a loaded one the minima
// move less between runs than the medians.
const fastest = (a: number[]) => Math.min(...a);
const timeNode = (s: typeof sides.base, t: string) => {
  const a = s.calls.get(t)!, f = s.k[fnName(t)]!;
  const t0 = clock();
  for (let i = 0; i < reps; i++) f(...a);
  return ((clock() - t0) * 1000) / reps;
};

// workerd: each build's memory image (weights, activations) posted once; its clock stands still during synchronous
// work, so a call's time is the fetch round trip less an empty one's.
let workerd: ((side: string, t: string) => Promise<number>) | null = null;
let reload = async () => {};
let dispose = async () => {};
// Each build's dot_add_fused answer (kernels/wasm/matmul-quant.ts; "-" where a build lacks it) per runtime.
let probes = `node ${["base", "new"].map((n) => sides[n as "base"].k.dot_add_fused?.() ?? "-").join(" ")}`;
if (env.WORKERD !== "0") {
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-kquant-ab-"));
  writeFileSync(join(dir, "base.wasm"), readFileSync(basePath));
  writeFileSync(join(dir, "new.wasm"), readFileSync(newPath));
  const args = Object.fromEntries(Object.entries(sides).map(([n, s]) => [n, Object.fromEntries(s.calls)]));
  writeFileSync(join(dir, "worker.js"), `import base from "./base.wasm"; import neu from "./new.wasm";
const mods = { base, new: neu }, inst = {}, ARGS = ${JSON.stringify(args)};
export default { async fetch(req) {
  const u = new URL(req.url), side = u.searchParams.get("side");
  if (u.pathname === "/noop") return new Response("0");
  if (u.pathname === "/probe") return new Response(String(inst[side].exports.dot_add_fused?.() ?? "-"));
  if (u.pathname === "/load") {
    const img = new Uint8Array(await req.arrayBuffer());
    const i = inst[side] = new WebAssembly.Instance(mods[side], {});
    const m = i.exports.memory, have = m.buffer.byteLength;
    if (img.length > have) m.grow(Math.ceil((img.length - have) / 65536));
    new Uint8Array(m.buffer).set(img);
    for (const [t, a] of Object.entries(ARGS[side])) for (let r = 0; r < 3; r++) i.exports["matmul_" + t.toLowerCase()](...a);
    return new Response("ok");
  }
  const t = u.searchParams.get("t"), a = ARGS[side][t], f = inst[side].exports["matmul_" + t.toLowerCase()];
  for (let r = 0; r < ${wreps}; r++) f(...a);
  return new Response("ok");
} };`);
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: join(dir, "worker.js") }, { type: "CompiledWasm", path: join(dir, "base.wasm") }, { type: "CompiledWasm", path: join(dir, "new.wasm") }],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  }));
  if (env.CPU === "1") await mf.ready;
  const wclock = env.CPU === "1" ? workerdCpuClock() : () => performance.now();
  const call = async (path: string, body?: Uint8Array) => {
    const t0 = wclock();
    await (await mf.dispatchFetch(`http://bench${path}`, body ? { method: "POST", body } : {})).text();
    return wclock() - t0;
  };
  reload = async () => {
    for (const [n, s] of Object.entries(sides)) await call(`/load?side=${n}`, new Uint8Array(s.k.memory.buffer, 0, s.top));
  };
  await reload();
  const answer = async (side: string) => (await mf.dispatchFetch(`http://bench/probe?side=${side}`)).text();
  probes += `; workerd ${await answer("base")} ${await answer("new")}`;
  const empty: number[] = [];
  for (let i = 0; i < 15; i++) empty.push(await call("/noop"));
  const rtt = median(empty.slice(5));
  workerd = async (side, t) => (((await call(`/run?side=${side}&t=${t}`)) - rtt) * 1000) / wreps;
  dispose = async () => {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
}

try {
  const us: Record<string, number[]> = {};
  const add = (key: string, v: number) => (us[key] ??= []).push(v);
  for (let w = 0; w < (workerd ? 3 : 1); w++) { // warm-up: both engines tier up first
    for (const t of types) for (const n of ["base", "new"] as const) {
      timeNode(sides[n], t);
      if (workerd) await workerd(n, t);
    }
  }
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      sides = fresh();
      await reload();
    }
    for (const t of types) {
      for (const n of ["base", "new"] as const) {
        add(`node ${t} ${n}`, timeNode(sides[n], t));
        if (workerd) add(`workerd ${t} ${n}`, await workerd(n, t));
      }
    }
  }
  console.log(`dot_add_fused per build (base new): ${probes}`);
  console.log(`${sides.new.relaxed ? "relaxed" : "simd128"} build, ${rows}x${cols}, ${nTok} token(s); µs per matmul, median of ${rounds} alternated rounds of ${reps} calls (workerd ${wreps}); outputs bit-identical`);
  for (const rt of workerd ? ["node", "workerd"] : ["node"]) {
    for (const t of types) {
      const b = median(us[`${rt} ${t} base`]!), n = median(us[`${rt} ${t} new`]!);
      const bm = fastest(us[`${rt} ${t} base`]!), nm = fastest(us[`${rt} ${t} new`]!);
      console.log(`  ${rt.padEnd(8)} ${t}  base ${b.toFixed(1).padStart(8)}  new ${n.toFixed(1).padStart(8)}  new/base ${(n / b).toFixed(3)}  (fastest rounds: ${bm.toFixed(1)}, ${nm.toFixed(1)}: ${(nm / bm).toFixed(3)})`);
    }
  }
} finally {
  await dispose();
}

/** ms of CPU time run by the workerd child process (all its threads: /proc/<pid>/task/<tid>/schedstat, ns). */
function workerdCpuClock(): () => number {
  const pid = readdirSync("/proc").find((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      return stat.includes("(workerd)") && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
    } catch {
      return false;
    }
  });
  if (!pid) throw new Error("CPU=1: no workerd child process found");
  return () => {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch { /* a thread that ended */ }
    }
    return ns / 1e6;
  };
}
