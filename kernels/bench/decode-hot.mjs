// How far one-token Q4_0 decode is from the memory it streams (Node): decode_q4_0 over one SmolLM2-135M ffn matrix
// (1536×576, 553 KB packed: it stays in L2) called MATS times, against MATS distinct such matrices called once each
// (83 MB: read from memory, as a decode step reads its weights), against a plain vector read of the same 83 MB.
// Alternated per round in one process; medians.
// usage: node kernels/bench/decode-hot.mjs [build=build/kernels/relaxed.wasm] [rounds=15]   (about 20 s)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import asc from "assemblyscript/asc";

setFlagsFromString("--no-liftoff");
const build = process.argv[2] ?? "build/kernels/relaxed.wasm", rounds = Number(process.argv[3] ?? 15);
const [R, C, MATS] = [1536, 576, 150];
const W = (R * C) / 2, S = (R * C) / 8, PER = W + S; // quant bytes, f32 scales (the backend's Q4_0 layout)

const e = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(build)), {}).exports;
const base = (e.heap_base() + 65535) & ~65535;
e.memory.grow(Math.ceil((base + PER * MATS + (1 << 20) - e.memory.buffer.byteLength) / 65536));
const u8 = new Uint8Array(e.memory.buffer), f32 = new Float32Array(e.memory.buffer);
let s = 12345;
for (let i = base; i < base + PER * MATS; i++) u8[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
for (let m = 0; m < MATS; m++) f32.fill(0.01, (base + m * PER + W) / 4, (base + (m + 1) * PER) / 4);
const x = base + PER * MATS, xq = x + 8192, out = xq + 16384, xe = out + 8192;
for (let i = 0; i < C; i++) f32[x / 4 + i] = Math.sin(i);
const nb = C / 32, xd = xq + C * 3, xs = xd + nb * 4;
e.quantize_q8_0(x, xq, xd, xs, C);
const decode = (m) => e.decode_q4_0(out, base + m * PER, base + m * PER + W, xq, xd, xs, R, C, xe);

// The plain read: 64 bytes per iteration into four xor accumulators (a module of its own, compiled here).
const dir = mkdtempSync(join(tmpdir(), "edge-llama-decode-hot-"));
let read;
try {
  const src = join(dir, "read.ts"), wasm = join(dir, "read.wasm");
  writeFileSync(src, `export function read(p: usize, n: usize): i32 {
  let a = i32x4.splat(0), b = a, c = a, d = a;
  for (const end = p + n; p < end; p += 64) {
    a = v128.xor(a, v128.load(p)); b = v128.xor(b, v128.load(p, 16)); c = v128.xor(c, v128.load(p, 32)); d = v128.xor(d, v128.load(p, 48));
  }
  return i32x4.extract_lane(v128.xor(v128.xor(a, b), v128.xor(c, d)), 0);
}`);
  const { error, stderr } = await asc.main([src, "--runtime", "stub", "-O3", "--noAssert", "--use", "abort=", "--enable", "simd", "--initialMemory", String(Math.ceil((PER * MATS + 65536) / 65536)), "-o", wasm]);
  if (error) throw new Error(`read module: ${stderr.toString()}`);
  const r = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm)), {}).exports;
  new Uint8Array(r.memory.buffer).set(u8.subarray(base, base + PER * MATS), 65536);
  read = () => r.read(65536, PER * MATS);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const kinds = {
  "decode_q4_0, one matrix MATS times (in cache)": () => { for (let m = 0; m < MATS; m++) decode(0); },
  "decode_q4_0, MATS matrices once (from memory)": () => { for (let m = 0; m < MATS; m++) decode(m); },
  "plain vector read of the MATS matrices": () => read(),
};
const names = Object.keys(kinds), ms = names.map(() => []);
for (const f of Object.values(kinds)) f(); // warm-up
for (let r = 0; r < rounds; r++) {
  const order = names.map((_, i) => i);
  if (r & 1) order.reverse();
  for (const i of order) {
    const t0 = performance.now();
    kinds[names[i]]();
    ms[i].push(performance.now() - t0);
  }
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`${build}: ${R}×${C} Q4_0, MATS = ${MATS} (${((PER * MATS) / 1e6).toFixed(1)} MB), median of ${rounds} alternated rounds`);
names.forEach((n, i) => {
  const t = median(ms[i]);
  const rate = i < 2 ? `${((R * C * MATS) / t / 1e6).toFixed(1)} GMAC/s, ` : "";
  console.log(`  ${n.replace("MATS", MATS).padEnd(52)} ${t.toFixed(2)} ms (${rate}${((PER * MATS) / t / 1e6).toFixed(1)} GB/s of packed weights)`);
});
