// Node A/B of the Q4_0 / Q8_0 matmul kernels of two or more builds by their fastest calls: one instance per build and
// shape, single calls alternated between the builds, per shape the 5th percentile of each build's call times (on a
// loaded shared machine the least disturbed calls; an A/A pair of copies agrees within about 1 %). Outputs are
// checked equal (a hash of each build's outputs after the tier-up calls); kernels/bench/prefill-tile.mjs also times workerd.
// usage: node kernels/bench/prefill-fastest.mjs [--format q4_0|q8_0] [--tokens 32] [--calls 300] [--model all|k256]
//          A.wasm B.wasm [C.wasm ...]
import { readFileSync } from "node:fs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const fmt = opt("format", "q4_0");
const n = Number(opt("tokens", "32"));
const calls = Number(opt("calls", "300"));
const model = opt("model", "all");
const files = argv;
if (files.length < 2 || files.some((f) => f.startsWith("--"))) throw new Error("usage: node kernels/bench/prefill-fastest.mjs [options] A.wasm B.wasm ...");
// [rows, cols, count per layer]: SmolLM2-135M's q+o, k+v, gate+up, down, then stories15M's; k256's (bench-core's
// k256 shapes: dim 512, 4 KV heads of 64, ffn 1536) by --model k256.
const SHAPES = {
  all: [[576, 576, 2], [192, 576, 2], [1536, 576, 2], [576, 1536, 1], [288, 288, 4], [768, 288, 2], [288, 768, 1]],
  k256: [[512, 512, 2], [256, 512, 2], [1536, 512, 2], [512, 1536, 1]],
};
const shapes = SHAPES[model];
if (!shapes) throw new Error(`unknown model ${model}`);

/** A call of the format's matmul on pseudo-random weights and activations (prefill-tile.mjs's set-up), in ex's memory. */
function setup(ex, rows, cols) {
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
  return (hash) => {
    mm(out, w, sc, q, d, s, rows, cols, n);
    if (!hash) return 0;
    const o = new Uint32Array(ex.memory.buffer, out, n * rows);
    let h = 0;
    for (let i = 0; i < o.length; i++) h = (Math.imul(h, 31) + o[i]) >>> 0;
    return h;
  };
}

const mods = files.map((f) => new WebAssembly.Module(readFileSync(f)));
const pct = (a, f) => [...a].sort((x, y) => x - y)[Math.floor(f * (a.length - 1))];
const layer = files.map(() => 0);
console.log(`${fmt}, ${n} tokens; 5th percentile of ${calls} alternated calls per build and shape (ms); builds ${files.map((f, i) => `${String.fromCharCode(65 + i)}: ${f}`).join(", ")}`);
for (const [rows, cols, count] of shapes) {
  const runs = mods.map((m) => setup(new WebAssembly.Instance(m, {}).exports, rows, cols));
  for (const f of runs) for (let i = 0; i < 10; i++) f(); // tier-up
  const sums = runs.map((f) => f(true));
  if (sums.some((h) => h !== sums[0])) throw new Error(`${rows}x${cols}: the builds' outputs differ (${sums.join(" ")})`);
  const ts = files.map(() => []);
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < runs.length; k++) {
      const m = (i + k) % runs.length; // rotate which build goes first
      const t0 = performance.now();
      runs[m]();
      ts[m].push(performance.now() - t0);
    }
  }
  const p = ts.map((a) => pct(a, 0.05));
  p.forEach((v, k) => (layer[k] += v * count));
  console.log(`  ${`${rows}x${cols} ×${count}`.padEnd(16)}${p.map((v) => v.toFixed(4).padStart(9)).join("")}   vs A: ${p.slice(1).map((v) => (v / p[0]).toFixed(3)).join(" ")}`);
}
const macs = shapes.reduce((a, [r, c, k]) => a + r * c * k, 0) * n;
console.log(`  ${"layer".padEnd(16)}${layer.map((v) => v.toFixed(3).padStart(9)).join("")}   vs A: ${layer.slice(1).map((v) => (v / layer[0]).toFixed(3)).join(" ")}   GMAC/s: ${layer.map((v) => (macs / v / 1e6).toFixed(1)).join(" ")}`);
