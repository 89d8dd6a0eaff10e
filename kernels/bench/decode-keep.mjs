// The activation quantization of one SmolLM2-135M decode step (30 layers: q, k, v on one normed row, o, gate and up on
// another, down; 210 calls) as quantize_q8_0 per matmul against quantize_q8_0_keep (the backend's one-token path: the
// repeated inputs reuse their quants), alternated per round in one Node process; medians.
// usage: node kernels/bench/decode-keep.mjs [build=build/kernels/relaxed.wasm] [rounds=400]   (a few seconds)
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-liftoff");
const build = process.argv[2] ?? "build/kernels/relaxed.wasm", rounds = Number(process.argv[3] ?? 400);
const e = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(build)), {}).exports;
const base = (e.heap_base() + 65535) & ~65535;
e.memory.grow(32);
const f32 = new Float32Array(e.memory.buffer);
const [LAYERS, DIM, FFN] = [30, 576, 1536];
// Per layer four distinct inputs: the attention's normed row, the attention output, the ffn's normed row, swiglu's.
const inputs = [];
let p = base;
for (let l = 0; l < LAYERS; l++) {
  const rows = [];
  for (const n of [DIM, DIM, DIM, FFN]) {
    for (let i = 0; i < n; i++) f32[p / 4 + i] = Math.sin(i * 0.37 + l * 4 + rows.length);
    rows.push([p, n]);
    p += n * 4;
  }
  const [xa, att, xf, g] = rows;
  inputs.push([xa, xa, xa, att, xf, xf, g]);
}
const q = p + 4096;
const plain = () => { for (const layer of inputs) for (const [x, n] of layer) e.quantize_q8_0(x, q, q + n * 3, q + n * 3 + n / 8, n); };
let heldN = 0; // the backend's HeldQ8: same scratch, so only n decides
const keep = () => {
  for (const layer of inputs) for (const [x, n] of layer) {
    e.quantize_q8_0_keep(x, q, q + n * 3, q + n * 3 + n / 8, n, q + n * 3 + (n / 32) * 12, heldN === n ? 1 : 0);
    heldN = n;
  }
};
for (let i = 0; i < 50; i++) { plain(); keep(); }
const t = [[], []];
for (let r = 0; r < rounds; r++) for (const i of r & 1 ? [1, 0] : [0, 1]) {
  const t0 = performance.now();
  (i ? keep : plain)();
  t[i].push(performance.now() - t0);
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${build}: one SmolLM2-135M step's activation quantization, median of ${rounds} alternated rounds`);
console.log(`  quantize_q8_0 per matmul      ${(median(t[0]) * 1000).toFixed(1)} µs`);
console.log(`  quantize_q8_0_keep            ${(median(t[1]) * 1000).toFixed(1)} µs  x${median(t[0].map((a, i) => a / t[1][i])).toFixed(3)}`);
