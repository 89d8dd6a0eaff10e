// A/B of two kernel builds' argmax_f32 in Node: the same pseudo-random row in each, alternated rounds, picks checked equal.
// usage: node kernels/bench/argmax-ab.mjs <A.wasm> <B.wasm> [n=8192]
import { readFileSync } from "node:fs";
const inst = (p) => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(p)), {}).exports;
const A = inst(process.argv[2]), B = inst(process.argv[3]);
const n = Number(process.argv[4] ?? 8192);
function setup(e) { const mem = e.memory; const at = 1 << 24; if (mem.buffer.byteLength < at + n * 4 + 64) mem.grow(Math.ceil((at + n * 4 + 65536 - mem.buffer.byteLength) / 65536)); const f = new Float32Array(mem.buffer, at, n); let s = 1; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; f[i] = (s / 2 ** 32) * 20 - 10; } return at; }
const pa = setup(A), pb = setup(B);
const time = (e, p) => { const t0 = performance.now(); let r = 0; for (let i = 0; i < 200; i++) r += e.argmax_f32(p, n); return [(performance.now() - t0) / 200, r]; };
for (let i = 0; i < 50; i++) { time(A, pa); time(B, pb); }
const ra = [], rb = [], ratio = [];
for (let k = 0; k < 31; k++) { const [ta, xa] = time(A, pa); const [tb, xb] = time(B, pb); if (xa !== xb) throw new Error("differ"); ra.push(ta); rb.push(tb); ratio.push(ta / tb); }
const med = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
console.log(`n=${n}: A ${(med(ra) * 1000).toFixed(2)} µs, B ${(med(rb) * 1000).toFixed(2)} µs, B speed-up x${med(ratio).toFixed(3)}`);
