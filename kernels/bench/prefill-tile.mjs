// A/B of the Q4_0 / Q8_0 matmul kernels of two or more builds on one model's layer shapes, alternated in one process in
// Node and in workerd (miniflare): the same packed weights and quantized activations in each, outputs checked equal.
// usage: node kernels/bench/prefill-tile.mjs A.wasm [B.wasm ...] [--variant name.ts=file.ts ...] [--cb 4,8,16]
//          [--model smollm2|stories|k256|all] [--tokens 32,1] [--formats q4_0,q8_0] [--rounds 7] [--runtimes node,workerd] [--check no]
//          [--stat median|min]
// A is the reference (e.g. a saved copy of build/kernels/relaxed.wasm). Each --variant builds this checkout's
// kernels/wasm (relaxed, kernels/build.mjs's flags) with its file name.ts replaced by file.ts; with --cb, a
// variant that declares `const CB: i32 = n;` is built once per value. With neither B nor a variant, B is
// build/kernels/relaxed.wasm. Prints median ms per call and GMAC/s per matrix and per layer (each matrix counted as
// often as a layer has it), and the median over rounds of each build's layer time over A's. Every timed call runs on a
// fresh instance.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const model = opt("model", "smollm2");
const tokens = opt("tokens", "32,1").split(",").map(Number);
const formats = opt("formats", "q4_0,q8_0").split(",");
const rounds = Number(opt("rounds", "7"));
const runtimes = opt("runtimes", "node,workerd").split(",");
// --check no: time builds whose outputs differ (what-if variants that compute something else); normally they must match.
const check = opt("check", "yes") !== "no";
// --stat min: each call's fastest round instead of its median (on a loaded machine the least disturbed one).
const stat = opt("stat", "median");
if (stat !== "median" && stat !== "min") throw new Error(`--stat ${stat}: median or min`);
const cbs = opt("cb", "").split(",").filter(Boolean).map(Number);
const variants = [];
for (let v = opt("variant", null); v !== null; v = opt("variant", null)) variants.push(v);
const files = argv;
if (!files.length || files.some((f) => f.startsWith("--"))) throw new Error("usage: node kernels/bench/prefill-tile.mjs A.wasm [B.wasm ...] [options]");
if (files.length === 1 && !variants.length) files.push(join(root, "build/kernels/relaxed.wasm"));

// [rows, cols, count per layer]: q, k+v, o, gate+up, down.
const SHAPES = {
  smollm2: [[576, 576, 2], [192, 576, 2], [1536, 576, 2], [576, 1536, 1]],
  stories: [[288, 288, 4], [768, 288, 2], [288, 768, 1]],
  k256: [[512, 512, 2], [256, 512, 2], [1536, 512, 2], [512, 1536, 1]],
};
SHAPES.all = [...SHAPES.smollm2, ...SHAPES.stories];
const shapes = SHAPES[model];
if (!shapes) throw new Error(`unknown model ${model}`);

const dir = mkdtempSync(join(tmpdir(), "edge-llama-prefill-tile-"));
const mods = files.map((f, i) => ({ name: `${String.fromCharCode(65 + i)}:${basename(f)}`, path: f }));
for (const spec of variants) {
  const [target, file] = spec.split("=");
  if (!file) throw new Error(`--variant ${spec}: expected name.ts=file.ts`);
  const text = readFileSync(file, "utf8");
  const hasCb = /const CB: i32 = \d+;/.test(text);
  for (const cb of hasCb && cbs.length ? cbs : [null]) {
    // A copy of kernels/wasm with the variant in place, built with kernels/build.mjs's relaxed flags.
    const label = `${basename(file, ".ts")}${cb === null ? "" : ` CB=${cb}`}`;
    const src = join(dir, `src${mods.length}`);
    cpSync(join(root, "kernels/wasm"), src, { recursive: true });
    writeFileSync(join(src, target), cb === null ? text : text.replace(/const CB: i32 = \d+;/, `const CB: i32 = ${cb};`));
    const out = join(dir, `v${mods.length}.wasm`);
    const { error, stderr } = await asc.main([join(src, "index.ts"), "--runtime", "stub", "-O3", "--noAssert", "--use", "abort=",
      "--enable", "simd", "--enable", "relaxed-simd", "-o", out]);
    if (error) throw new Error(`${label}: build failed: ${stderr.toString()}`);
    mods.push({ name: `${String.fromCharCode(65 + mods.length)}:${label}`, path: out });
  }
}
mods.forEach((m, i) => cpSync(m.path, join(dir, `m${i}.wasm`)));

const cases = [];
for (const fmt of formats) for (const n of tokens) for (const [rows, cols, count] of shapes) cases.push({ fmt, n, rows, cols, count });
const reps = (c) => Math.max(1, Math.round(1e9 / (c.rows * c.cols * c.n)));

// Same set-up in both runtimes: pseudo-random quants, small scales, activations in [-1, 1) quantized by the module.
const setup = `function setup(ex, fmt, rows, cols, n) {
  const q8 = fmt === "q8_0", nb = cols / 32, panels = Math.ceil(rows / 4);
  const wBytes = panels * nb * (q8 ? 128 : 64), sBytes = panels * nb * (q8 ? 8 : 16);
  const al = (v) => Math.ceil(v / 64) * 64;
  const w = al(ex.heap_base()), sc = al(w + wBytes), x = al(sc + sBytes), q = al(x + n * cols * 4);
  const d = q + n * cols * 3, s = d + n * nb * 4, out = al(s + n * nb * 4), end = out + n * rows * 4 + 64;
  const need = Math.ceil((end - ex.memory.buffer.byteLength) / 65536);
  if (need > 0) ex.memory.grow(need);
  const u8 = new Uint8Array(ex.memory.buffer), f32 = new Float32Array(ex.memory.buffer), u16 = new Uint16Array(ex.memory.buffer);
  let st = 12345 + rows * 7 + cols * 3 + n;
  const rnd = () => ((st = (Math.imul(st, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  for (let i = 0; i < wBytes; i++) u8[w + i] = (rnd() * 256) | 0;
  if (q8) for (let i = 0; i < sBytes / 2; i++) u16[sc / 2 + i] = 0x1c00 + ((rnd() * 2048) | 0) + (rnd() < 0.5 ? 0x8000 : 0);
  else for (let i = 0; i < sBytes / 4; i++) f32[sc / 4 + i] = (rnd() - 0.5) * 0.02;
  for (let i = 0; i < n * cols; i++) f32[x / 4 + i] = rnd() * 2 - 1;
  // Q4_0 on builds with the token-interleaved prefill tiles: their quantizer and matmul, as the backend calls them.
  const tiles = !q8 && typeof ex.matmul_q4_0_tiles === "function";
  if (tiles) ex.quantize_q8_0_tiles(x, q, d, s, cols, n);
  else ex.quantize_q8_0(x, q, d, s, n * cols);
  const mm = q8 ? ex.matmul_q8_0 : tiles ? ex.matmul_q4_0_tiles : ex.matmul_q4_0;
  return (reps) => {
    for (let i = 0; i < reps; i++) mm(out, w, sc, q, d, s, rows, cols, n);
    const o = new Uint32Array(ex.memory.buffer, out, n * rows);
    let h = 0;
    for (let i = 0; i < o.length; i++) h = (Math.imul(h, 31) + o[i]) >>> 0;
    return h;
  };
}`;
const CASES = JSON.stringify(cases);
writeFileSync(join(dir, "worker.js"), `${mods.map((_, i) => `import m${i} from "./m${i}.wasm";`).join("\n")}
const MODS = [${mods.map((_, i) => `m${i}`).join(", ")}];
const CASES = ${CASES};
${setup}
const runs = new Map();
export default {
  async fetch(req) {
    const u = new URL(req.url);
    if (u.pathname === "/noop") return new Response("0");
    if (u.pathname === "/fused") return new Response(MODS.map((m) => new WebAssembly.Instance(m, {}).exports.dot_add_fused?.() ?? "-").join(" "));
    const m = Number(u.searchParams.get("m")), c = Number(u.searchParams.get("c"));
    const key = m + "/" + c;
    if (u.pathname === "/setup" || !runs.has(key)) {
      const k = CASES[c];
      runs.set(key, setup(new WebAssembly.Instance(MODS[m], {}).exports, k.fmt, k.rows, k.cols, k.n));
    }
    if (u.pathname === "/setup") return new Response("0");
    return new Response(String(runs.get(key)(Number(u.searchParams.get("reps")))));
  },
};
`);
const setupNode = new Function(`${setup}; return setup;`)();
const nodeModules = mods.map((m) => new WebAssembly.Module(readFileSync(m.path)));
const nodeSetup = (mi, ci) => setupNode(new WebAssembly.Instance(nodeModules[mi], {}).exports, cases[ci].fmt, cases[ci].rows, cases[ci].cols, cases[ci].n);
const nodeRuns = mods.map((_, mi) => cases.map((_, ci) => nodeSetup(mi, ci)));

const useWorkerd = runtimes.includes("workerd");
const mf = useWorkerd
  ? new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...mods.map((_, i) => ({ type: "CompiledWasm", path: join(dir, `m${i}.wasm`) }))],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  }))
  : null;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const pick = (a) => (stat === "min" ? Math.min(...a) : median(a));
try {
  // workerd's clock stands still while code runs: its time is the fetch round trip less an empty request's.
  const call = async (path) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://bench${path}`)).text();
    return { ms: performance.now() - t0, text };
  };
  let rtt = 0;
  if (mf) {
    const empty = [];
    for (let i = 0; i < 15; i++) empty.push((await call("/noop")).ms);
    rtt = median(empty.slice(5));
  }
  const empties = [];
  const ms = {}; // `${runtime} ${case} ${module}` → ms per call
  const sums = cases.map(() => new Map());
  // Each timed call gets a fresh instance (and fresh copies of the data): where an instance's memory lands moves
  // timings by tens of percent, and one placement kept for every round would bias a whole run.
  const time = async (rt, mi, ci, r) => {
    let t, h;
    if (rt === "node") nodeRuns[mi][ci] = nodeSetup(mi, ci);
    else await call(`/setup?m=${mi}&c=${ci}`);
    if (rt === "node") {
      const t0 = performance.now();
      h = nodeRuns[mi][ci](r);
      t = performance.now() - t0;
    } else {
      // --stat min: an empty request beside each timed one, and the fastest of each kind (taken at the end).
      if (stat === "min") empties.push((await call("/noop")).ms);
      const b = await call(`/run?m=${mi}&c=${ci}&reps=${r}`);
      t = b.ms - (stat === "min" ? 0 : rtt);
      h = Number(b.text);
    }
    const prev = sums[ci].get(rt);
    if (prev === undefined) sums[ci].set(rt, h);
    else if (check && prev !== h) throw new Error(`${rt}: ${mods[mi].name} gives other outputs than ${mods[0].name} on case ${JSON.stringify(cases[ci])}`);
    return t / r;
  };
  for (const rt of runtimes) for (let ci = 0; ci < cases.length; ci++) for (let mi = 0; mi < mods.length; mi++) await time(rt, mi, ci, 1); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let ci = 0; ci < cases.length; ci++) {
      for (const rt of runtimes) {
        // Alternate the order of the builds every round so neither always runs first.
        const order = mods.map((_, i) => i);
        if (round & 1) order.reverse();
        for (const mi of order) (ms[`${rt} ${ci} ${mi}`] ??= []).push(await time(rt, mi, ci, reps(cases[ci])));
      }
    }
  }
  if (mf && stat === "min") {
    // Raw request times so far: less the fastest empty request's (per call: divided by the reps).
    rtt = Math.min(...empties);
    for (const key of Object.keys(ms)) {
      if (!key.startsWith("workerd ")) continue;
      const ci = Number(key.split(" ")[1]);
      ms[key] = ms[key].map((v) => v - rtt / reps(cases[ci]));
    }
  }
  if (mf) console.log(`workerd empty round trip ${rtt.toFixed(2)} ms${stat === "min" ? " (fastest)" : ""}`);
  // Which builds run Q4_0 prefill with fused i32 dot-adds (kernels/wasm/matmul-quant.ts dot_add_fused; - where absent).
  const nodeFused = mods.map((m) => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(m.path)), {}).exports.dot_add_fused?.() ?? "-");
  console.log(`dot_add_fused per build: node ${nodeFused.join(" ")}${mf ? `; workerd ${(await call("/fused")).text}` : ""}`);
  console.log(`builds: ${mods.map((m) => m.name).join(", ")}; ${stat} of ${rounds} alternated rounds; ${check ? "outputs equal across builds" : "outputs NOT checked"}`);
  for (const rt of runtimes) {
    for (const fmt of formats) {
      for (const n of tokens) {
        const head = mods.map((m) => `${m.name.split(":")[0]} ms  GMAC/s`.padStart(18)).join("");
        console.log(`${rt} ${fmt} ${n} token(s):${" ".repeat(4)}${head}`);
        const layer = mods.map(() => 0);
        let macs = 0;
        cases.forEach((c, ci) => {
          if (c.fmt !== fmt || c.n !== n) return;
          const cols = mods.map((_, mi) => pick(ms[`${rt} ${ci} ${mi}`]));
          cols.forEach((v, mi) => (layer[mi] += v * c.count));
          macs += c.rows * c.cols * c.n * c.count;
          const cells = cols.map((v) => `${v.toFixed(3).padStart(10)} ${((c.rows * c.cols * c.n) / v / 1e6).toFixed(1).padStart(7)}`).join("");
          console.log(`  ${`${c.rows}x${c.cols} ×${c.count}`.padEnd(26)}${cells}`);
        });
        const cells = layer.map((v) => `${v.toFixed(3).padStart(10)} ${(macs / v / 1e6).toFixed(1).padStart(7)}`).join("");
        console.log(`  ${`all (${stat}s)`.padEnd(26)}${cells}   time vs A: ${layer.slice(1).map((v) => (v / layer[0]).toFixed(3)).join(" ")}`);
        // Per round, the summed time of each build (the same round's calls): the median ratio to A is steadier.
        const ratios = mods.slice(1).map((_, j) => {
          const per = [];
          for (let round = 0; round < rounds; round++) {
            let a = 0, b = 0;
            cases.forEach((c, ci) => {
              if (c.fmt !== fmt || c.n !== n) return;
              a += ms[`${rt} ${ci} 0`][round] * c.count;
              b += ms[`${rt} ${ci} ${j + 1}`][round] * c.count;
            });
            per.push(b / a);
          }
          return median(per).toFixed(3);
        });
        console.log(`  ${"per-round time vs A".padEnd(26)}${ratios.join(" ")}`);
      }
    }
  }
} finally {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
