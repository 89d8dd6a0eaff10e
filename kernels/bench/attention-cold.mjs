// Decode attention on the f32 KV cache as the engine meets it: every layer's K/V evicted from cache between its calls
// (a few MB of weights stream past, as in a decode step), baseline and new module alternated in one process.
// usage: node kernels/bench/attention-cold.mjs [--base old-relaxed.wasm] [--new build/kernels/relaxed.wasm]
//   [--shape smollm2|stories15M] [--lens 128,512,2048] [--rounds 9] [--hot] [--layers n] [--tokens n] [--touch 0|1]
//   [--also name=path,...]
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const SHAPES = { smollm2: { H: 9, KV: 3, D: 64, L: 30 }, stories15M: { H: 6, KV: 6, D: 48, L: 6 } };
const shapeName = arg("--shape", "smollm2");
const { H, KV, D } = SHAPES[shapeName];
const L = Number(arg("--layers", SHAPES[shapeName].L));
const lens = arg("--lens", "128,512,2048").split(",").map(Number);
const rounds = Number(arg("--rounds", 9));
const hot = process.argv.includes("--hot");
const touch = Number(arg("--touch", 1)); // the kernel's touch argument (a baseline module without it ignores it)
const nTok = Number(arg("--tokens", 1)); // tokens per call: 1 is decode, more a prefill batch ending at nPos
const paths = { new: resolve(arg("--new", resolve(here, "../../build/kernels/relaxed.wasm"))) };
if (arg("--base", null)) paths.base = resolve(arg("--base"));
// --also name=path,name=path: more variants in the same rotation
for (const kv of (arg("--also", "") || "").split(",").filter(Boolean)) paths[kv.split("=")[0]] = resolve(kv.split("=")[1]);
const FLUSH = 4 << 20; // bytes of "weights" streamed between two layers' attention calls

function rng(seed) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 8388608 - 1; }; }
function setup(mod, nCtx) {
  const ex = new WebAssembly.Instance(mod, {}).exports;
  const kvd = KV * D, plane = nCtx * kvd * 4;
  let at = (ex.heap_base() + 15) & ~15;
  const take = (b) => { const p = at; at += (b + 15) & ~15; return p; };
  const m = { ex, kv: take(L * 2 * plane), plane, q: take(L * nTok * H * D * 4), out: take(nTok * H * D * 4), scores: take(H * nCtx * 4 + 64), fa: take(FLUSH), fb: take(FLUSH) };
  if (at > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((at - ex.memory.buffer.byteLength) / 65536));
  const f = new Float32Array(ex.memory.buffer), r = rng(7);
  for (let i = 0; i < (L * 2 * plane) / 4; i++) f[m.kv / 4 + i] = 2 * r();
  for (let i = 0; i < L * nTok * H * D; i++) f[m.q / 4 + i] = 2 * r();
  return m;
}
// One decode step's attention calls at nPos positions; returns µs per call and a hash of every output.
function step(m, nPos) {
  const { ex } = m;
  let t = 0, h = 0;
  for (let l = 0; l < L; l++) {
    if (!hot) ex.copy_bytes(m.fb, m.fa, FLUSH);
    const k = m.kv + l * 2 * m.plane, q = m.q + l * nTok * H * D * 4;
    const t0 = performance.now();
    ex.attention(m.out, q, k, k + m.plane, m.scores, nPos - nTok, nTok, H, KV, D, 0, touch);
    t += performance.now() - t0;
    const u = new Uint32Array(ex.memory.buffer, m.out, nTok * H * D);
    for (const x of u) h = (Math.imul(h, 31) + x) >>> 0;
  }
  return { us: (t * 1000) / L, h };
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const mods = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, new WebAssembly.Module(readFileSync(p))]));
console.log(`${shapeName} (${H} heads, ${KV} KV heads, ${D} dims, ${L} layers), f32 KV, ${nTok === 1 ? "decode" : `${nTok}-token batches`}, ${hot ? "hot" : "cold (4 MB streamed between calls)"}, µs per layer call, median of ${rounds}`);
for (const nPos of lens) {
  const ms = Object.fromEntries(Object.entries(mods).map(([k, mod]) => [k, setup(mod, nPos)]));
  const times = Object.fromEntries(Object.keys(ms).map((k) => [k, []]));
  const hashes = {};
  // Warm-up: enough calls for V8 to tier the kernel up from its baseline compiler (and 50 ms for the background compile).
  for (const m of Object.values(ms)) for (let i = 0; i < Math.ceil(300 / L); i++) step(m, nPos);
  const until = performance.now() + 50;
  while (performance.now() < until);
  for (let r = 0; r < rounds + 1; r++) {
    for (const [k, m] of Object.entries(ms)) {
      const { us, h } = step(m, nPos);
      if (r > 0) times[k].push(us);
      hashes[k] = h;
    }
  }
  const row = Object.keys(ms).map((k) => `${k} ${median(times[k]).toFixed(1)} (min ${Math.min(...times[k]).toFixed(1)})`).join("  ");
  const same = Object.values(hashes).every((x) => x === hashes.new) ? "outputs identical" : "OUTPUTS DIFFER";
  const ratio = ms.base ? `  new/base ${(median(times.new) / median(times.base)).toFixed(2)}` : "";
  console.log(`${String(nPos).padStart(5)} positions: ${row}${ratio}  (${same})`);
}
