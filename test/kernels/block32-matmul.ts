// The relaxed and SIMD128 builds' Q4_0 / Q8_0 matmuls as the prefill tests call them: on packed weights and
// quantized activations in a module's own linear memory.
import type { KernelExports } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packBlock32 } from "../../src/backends/wasm/repack";

export type Matmul = (out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number) => void;
export type Fused = KernelExports & {
  matmul_q4_0_fused: Matmul;
  matmul_q4_0_i16: Matmul;
  matmul_q8_0_fused: Matmul;
  matmul_q8_0_i16: Matmul;
  dot_add_fused(): number;
  set_dot_add_fused(v: number): void;
};

/** out bits of `mm` on rows×cols Q4_0 (or `q8`: Q8_0) weights and n tokens of x, in the module's own linear memory. */
export function run(k: Fused, mm: Matmul, relaxed: boolean, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number, q8 = false): Uint32Array {
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packBlock32(mem, q8, rows, cols, bytes, relaxed);
  const xp = mem.alloc(x.length * 4);
  mem.f32.set(x, xp / 4);
  const nb = (n * cols) / 32;
  const q = mem.alloc(n * cols * 3 + nb * 8);
  k.quantize_q8_0(xp, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, n * cols);
  const out = mem.alloc(n * rows * 4);
  mm(out, w.data, w.scales, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, rows, cols, n);
  return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
}

/**
 * out bits of matmul_q4_0_tiles on rows×cols Q4_0 weights and n tokens of x quantized by quantize_q8_0_tiles (the
 * backend's Q4_0 path), in the module's own linear memory, with dot_add_fused's answer set to `fused` (0 or 1).
 */
export function runTiles(k: Fused, fused: number, relaxed: boolean, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Uint32Array {
  if (relaxed) k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packBlock32(mem, false, rows, cols, bytes, relaxed);
  const xp = mem.alloc(x.length * 4);
  mem.f32.set(x, xp / 4);
  const nb = (n * cols) / 32;
  const q = mem.alloc(n * cols * 3 + nb * 8);
  k.quantize_q8_0_tiles(xp, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, cols, n);
  const out = mem.alloc(n * rows * 4);
  k.matmul_q4_0_tiles(out, w.data, w.scales, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, rows, cols, n);
  return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
}
