// f32-cache attention, a baseline module against the current build, in Node and in workerd (miniflare): many short
// rounds, base and new back to back in each, so a busy machine's slow spells hit both; per case the median µs per
// layer call and the median of the per-round new/base ratios, and whether the outputs' bits are the same.
// usage: node kernels/bench/attention-ab.mjs --base old-relaxed.wasm [--new build/kernels/relaxed.wasm]
//   [--shape k256|smollm2] [--lens 16,64,128,192,260] [--tokens 1] [--rounds 31] [--ms 4] [--wd-ms 60]
//   [--runtimes node,workerd] [--kv f32|f16]   (--ms / --wd-ms: work per timed call in Node / workerd, whose round trip
//   is noisier; --kv f16: attention_typed on an F16 cache, tiles of 8 tokens as the backend takes them)
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { median, startBuildsWorker } from "./builds-worker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const SHAPES = { k256: [8, 4, 64], smollm2: [9, 3, 64], stories15M: [6, 6, 48] };
const shapeName = arg("--shape", "k256");
if (!SHAPES[shapeName]) throw new Error(`--shape: one of ${Object.keys(SHAPES).join(", ")}`);
const [H, KV, D] = SHAPES[shapeName];
const lens = arg("--lens", "16,64,128,192,260").split(",").map(Number);
const nTok = Number(arg("--tokens", 1));
const rounds = Number(arg("--rounds", 31));
const targetMs = Number(arg("--ms", 4)); // work per timed call
const wdScale = Number(arg("--wd-ms", 60)) / targetMs;
const runtimes = arg("--runtimes", "node,workerd").split(",");
const kvType = arg("--kv", "f32");
if (kvType !== "f32" && kvType !== "f16") throw new Error("--kv: f32 or f16");
const builds = { base: resolve(arg("--base")), new: resolve(arg("--new", resolve(here, "../../build/kernels/relaxed.wasm"))) };

// One driver for both runtimes (a string, evaluated in Node and pasted into the worker).
const driver = `
const H = ${H}, KV = ${KV}, D = ${D}, T = ${nTok}, NCTX = 4096, F16 = ${kvType === "f16"};
function rng(seed) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 8388608 - 1; }; }
const made = new Map();
function setup(mods, which) {
  if (made.has(which)) return made.get(which);
  const ex = new WebAssembly.Instance(mods[which], {}).exports;
  let at = (ex.heap_base() + 15) & ~15;
  const take = (b) => { const p = at; at += (b + 15) & ~15; return p; };
  const m = { ex, k: take(NCTX * KV * D * 4), v: take(NCTX * KV * D * 4), q: take(T * H * D * 4), out: take(T * H * D * 4), scores: take(H * NCTX * 4 + 16) };
  if (at > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((at - ex.memory.buffer.byteLength) / 65536));
  const f = new Float32Array(ex.memory.buffer), r = rng(11);
  for (let i = 0; i < NCTX * KV * D; i++) { f[m.k / 4 + i] = 3 * r(); f[m.v / 4 + i] = 2 * r(); }
  if (F16) { // halves of magnitude 2^-5..2^1 (exponent 10..16), either sign, in the first half of each plane
    const u = new Uint16Array(ex.memory.buffer);
    for (const base of [m.k, m.v]) for (let i = 0; i < NCTX * KV * D; i++) u[base / 2 + i] = ((r() < 0 ? 0x8000 : 0) | ((10 + Math.floor(7 * Math.abs(r()))) << 10) | Math.floor(1023 * Math.abs(r()))) & 0xffff;
  }
  for (let i = 0; i < T * H * D; i++) f[m.q / 4 + i] = 2 * r();
  made.set(which, m);
  return m;
}
// reps calls at nPos positions (the last T of them the batch's); returns a hash of the output bits.
function run(mods, which, nPos, reps) {
  const m = setup(mods, which), ex = m.ex;
  if (F16) for (let r = 0; r < reps; r++) ex.attention_typed(m.out, m.q, m.k, m.v, m.scores, nPos - T, T, H, KV, D, KV * D * 2, 1, 8);
  else for (let r = 0; r < reps; r++) ex.attention(m.out, m.q, m.k, m.v, m.scores, nPos - T, T, H, KV, D, 0, 0);
  const u = new Uint32Array(ex.memory.buffer, m.out, T * H * D);
  let h = 0;
  for (const x of u) h = (Math.imul(h, 31) + x) >>> 0;
  return h;
}
`;
const mods = { base: new WebAssembly.Module(readFileSync(builds.base)), new: new WebAssembly.Module(readFileSync(builds.new)) };
const runNode = new Function(`${driver}; return run;`)();
const wd = runtimes.includes("workerd")
  ? await startBuildsWorker({ builds, source: driver, handler: `const p = u.searchParams; return run(mods, p.get("w"), +p.get("nPos"), +p.get("reps"));` })
  : null;
const call = (q) => wd.call(`/${q}`);
try {
  const rtt = wd ? await wd.rtt(25, 5) : 0;
  // reps per call from a Node calibration of the baseline (about targetMs of work).
  const reps = new Map();
  for (const nPos of lens) {
    for (const w of ["base", "new"]) runNode(mods, w, nPos, 2000); // past V8's tier-up to optimized code
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 20) { runNode(mods, "base", nPos, 50); n += 50; }
    reps.set(nPos, Math.max(1, Math.round((targetMs * n) / (performance.now() - t0))));
  }
  const res = new Map();
  const time = async (rt, w, nPos, n) => {
    if (rt === "node") {
      const t0 = performance.now();
      const h = runNode(mods, w, nPos, n);
      return { us: ((performance.now() - t0) * 1000) / n, h: String(h) };
    }
    const m = Math.max(1, Math.round(n * wdScale));
    const r = await call(`run?w=${w}&nPos=${nPos}&reps=${m}`);
    if (!/^\d+$/.test(r.text)) throw new Error(`workerd: ${r.text.slice(0, 300)}`);
    return { us: ((r.ms - rtt) * 1000) / m, h: r.text };
  };
  for (const rt of runtimes) for (const nPos of lens) { await time(rt, "base", nPos, reps.get(nPos)); await time(rt, "new", nPos, reps.get(nPos)); }
  for (let r = 0; r < rounds; r++) {
    for (const rt of runtimes) {
      for (const nPos of lens) {
        const key = `${rt}:${nPos}`;
        if (!res.has(key)) res.set(key, { base: [], new: [], ratio: [], hashes: new Set() });
        const e = res.get(key), n = reps.get(nPos);
        const order = r % 2 ? ["new", "base"] : ["base", "new"]; // alternate which goes first
        const t = {};
        for (const w of order) t[w] = await time(rt, w, nPos, n);
        e.base.push(t.base.us);
        e.new.push(t.new.us);
        e.ratio.push(t.new.us / t.base.us);
        e.hashes.add(t.base.h).add(t.new.h);
      }
    }
  }
  console.log(`${shapeName} (${H} heads, ${KV} KV heads, ${D} dims), ${kvType} KV, ${nTok === 1 ? "decode" : `${nTok}-token batch`}, cache-resident, µs per layer call: median of ${rounds} rounds (base and new back to back), ratio = median of per-round new/base${wd ? `; workerd: calls timed from outside less the empty round trip ${rtt.toFixed(2)} ms` : ""}`);
  console.log(`${"runtime".padEnd(8)} ${"positions".padStart(9)} ${"base".padStart(9)} ${"new".padStart(9)} ${"new/base".padStart(9)}  output bits`);
  for (const [key, e] of res) {
    const [rt, nPos] = key.split(":");
    console.log(`${rt.padEnd(8)} ${nPos.padStart(9)} ${median(e.base).toFixed(2).padStart(9)} ${median(e.new).toFixed(2).padStart(9)} ${median(e.ratio).toFixed(3).padStart(9)}  ${e.hashes.size === 1 ? "same" : "DIFFER"}`);
  }
} finally {
  await wd?.dispose();
}
