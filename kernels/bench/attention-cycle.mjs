// Decode attention on f32 KV caches too many to stay in cache, in Node and in workerd (miniflare), baseline and new
// module alternated: each call walks a layer whose K/V the other layers' calls evicted (cold, as in a decode step), and
// whole passes are timed from outside (workerd's clock stands still during synchronous work), less an empty round trip.
// usage: node kernels/bench/attention-cycle.mjs --base old-relaxed.wasm [--new build/kernels/relaxed.wasm]
//   [--shape smollm2|stories15M|k256] [--lens 128,512,2048] [--rounds 9] [--mb 48] [--touch 0|1] [--base-touch 0|1]
//   (--base-touch: the baseline's touch argument, --touch's by default: with --base and --new the same module, the
//   touched walk against the per-head one)
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { median, startBuildsWorker } from "./builds-worker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const SHAPES = { smollm2: [9, 3, 64], stories15M: [6, 6, 48], k256: [8, 4, 64] };
const shapeName = arg("--shape", "smollm2");
const [H, KV, D] = SHAPES[shapeName];
const lens = arg("--lens", "128,512,2048").split(",").map(Number);
const rounds = Number(arg("--rounds", 9));
const mb = Number(arg("--mb", 48));
const touch = Number(arg("--touch", 1)); // the kernel's touch argument (a baseline module without it ignores it)
const baseTouch = Number(arg("--base-touch", touch));
const builds = { base: resolve(arg("--base")), new: resolve(arg("--new", resolve(here, "../../build/kernels/relaxed.wasm"))) };

// One driver for both runtimes (a string, evaluated in Node and pasted into the worker).
const driver = `
const H = ${H}, KV = ${KV}, D = ${D}, MB = ${mb}, TOUCH = { base: ${baseTouch}, new: ${touch} };
function rng(seed) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 8388608 - 1; }; }
const made = new Map();
// nLayers layers of K and V at nPos positions (MB megabytes in all), their queries, an output and the scores scratch.
function setup(mods, which, nPos) {
  const key = which + ":" + nPos;
  if (made.has(key)) return made.get(key);
  for (const k of made.keys()) if (k.startsWith(which + ":")) made.delete(k); // one size at a time per module
  const ex = new WebAssembly.Instance(mods[which], {}).exports;
  const plane = nPos * KV * D * 4, nLayers = Math.max(8, Math.floor((MB << 20) / (2 * plane)));
  let at = (ex.heap_base() + 15) & ~15;
  const take = (b) => { const p = at; at += (b + 15) & ~15; return p; };
  const m = { ex, nLayers, plane, kv: take(nLayers * 2 * plane), q: take(nLayers * H * D * 4), out: take(H * D * 4), scores: take(H * nPos * 4 + 64) };
  if (at > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((at - ex.memory.buffer.byteLength) / 65536));
  const f = new Float32Array(ex.memory.buffer), r = rng(7);
  for (let i = 0; i < (nLayers * 2 * plane) / 4; i++) f[m.kv / 4 + i] = 2 * r();
  for (let i = 0; i < nLayers * H * D; i++) f[m.q / 4 + i] = 2 * r();
  made.set(key, m);
  return m;
}
// passes over every layer (one decode call each); returns the layer count and a hash of every output.
function cycle(mods, which, nPos, passes) {
  const m = setup(mods, which, nPos), ex = m.ex;
  let h = 0;
  for (let r = 0; r < passes; r++) {
    for (let l = 0; l < m.nLayers; l++) {
      const k = m.kv + l * 2 * m.plane;
      ex.attention(m.out, m.q + l * H * D * 4, k, k + m.plane, m.scores, nPos - 1, 1, H, KV, D, 0, TOUCH[which]);
      if (r === 0) { const u = new Uint32Array(ex.memory.buffer, m.out, H * D); for (const x of u) h = (Math.imul(h, 31) + x) >>> 0; }
    }
  }
  return m.nLayers + ":" + h;
}
`;
const mods = { base: new WebAssembly.Module(readFileSync(builds.base)), new: new WebAssembly.Module(readFileSync(builds.new)) };
const runNode = new Function(`${driver}; return cycle;`)();
const wd = await startBuildsWorker({ builds, source: driver, handler: `const p = u.searchParams; return cycle(mods, p.get("w"), +p.get("nPos"), +p.get("passes"));` });
const call = (q) => wd.call(`/run?${q}`);
try {
  const rtt = await wd.rtt();
  console.log(`${shapeName} (${H} heads, ${KV} KV heads, ${D} dims), f32 KV, decode, ${mb} MB of layers cycled (each call cold), µs per layer call, median/min of ${rounds} alternated rounds (ratio of medians); empty round trip ${rtt.toFixed(1)} ms`);
  console.log(`${"positions".padStart(9)} ${"node base".padStart(12)} ${"node new".padStart(12)} ${"new/base".padStart(8)} ${"wd base".padStart(12)} ${"wd new".padStart(12)} ${"new/base".padStart(8)}  output bits`);
  for (const nPos of lens) {
    const t = { node: { base: [], new: [] }, wd: { base: [], new: [] } }, hashes = new Set();
    // ~150 ms of calls per timed request at 2 GB/s of KV (round-trip noise is a few ms), at least one pass.
    const [nLayers] = runNode(mods, "base", nPos, 1).split(":").map(Number);
    const passes = Math.max(1, Math.round(0.15 / ((nLayers * 2 * nPos * KV * D * 4) / 2e9)));
    for (const w of ["base", "new"]) { for (let i = 0; i < 3; i++) runNode(mods, w, nPos, passes); for (let i = 0; i < 3; i++) await call(`w=${w}&nPos=${nPos}&passes=${passes}`); }
    for (let r = 0; r < rounds; r++) {
      for (const w of ["base", "new"]) {
        const t0 = performance.now();
        hashes.add(runNode(mods, w, nPos, passes));
        t.node[w].push(((performance.now() - t0) * 1000) / (passes * nLayers));
        const c = await call(`w=${w}&nPos=${nPos}&passes=${passes}`);
        hashes.add(c.text);
        t.wd[w].push(((c.ms - rtt) * 1000) / (passes * nLayers));
      }
    }
    const f = (x) => `${median(x).toFixed(1)}/${Math.min(...x).toFixed(1)}`;
    console.log(`${String(nPos).padStart(9)} ${f(t.node.base).padStart(12)} ${f(t.node.new).padStart(12)} ${(median(t.node.new) / median(t.node.base)).toFixed(2).padStart(8)} ${f(t.wd.base).padStart(12)} ${f(t.wd.new).padStart(12)} ${(median(t.wd.new) / median(t.wd.base)).toFixed(2).padStart(8)}  ${hashes.size === 1 ? "same" : "DIFFER"}`);
  }
} finally {
  await wd.dispose();
}
