// Load-time warm-up candidate, measured by tier-up.ts and first-request.ts: runs the hot kernels on small zero inputs
// in a throwaway instance so that V8's dynamic tiering queues them for its optimizing compiler before real work.
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";

// Shapes that are whole blocks for every format (32- and 256-element blocks, 4-row panels) and small enough that a
// call takes microseconds; TOKENS covers the decode path (1) and a prefill tile.
const ROWS = 64, COLS = 256, TOKENS = [1, 16];
/** Calls per kernel and token count: enough executed code to spend V8's default tiering budget in each function. */
export const WARM_CALLS = 24;

/** Each hot kernel as one call on zero inputs; a, b, c, d are disjoint 64 KiB areas of the throwaway memory. */
function kernels(k: KernelExports, a: number, b: number, c: number, d: number, n: number): (() => void)[] {
  const q = [b, c, c + 32768] as const; // quantized activations: values, scales, sums
  return [
    () => k.quantize_q8_0(a, b, c, d, n * COLS),
    () => k.quantize_q8_k(a, b, c, d, n * COLS),
    () => k.quantize_q8_1(a, b, c, d, d + 32768, n * COLS),
    () => k.matmul_q8_0(d, a, a + 32768, ...q, ROWS, COLS, n),
    () => k.matmul_q4_0(d, a, a + 32768, ...q, ROWS, COLS, n),
    () => k.matmul_q4_1(d, a, ...q, c + 49152, ROWS, COLS, n),
    () => k.matmul_q5_0(d, a, ...q, 0, ROWS, COLS, n),
    () => k.matmul_q5_1(d, a, ...q, c + 49152, ROWS, COLS, n),
    () => k.matmul_q2_k(d, a, ...q, ROWS, COLS, n),
    () => k.matmul_q3_k(d, a, ...q, ROWS, COLS, n),
    () => k.matmul_q4_k(d, a, ...q, ROWS, COLS, n),
    () => k.matmul_q5_k(d, a, ...q, ROWS, COLS, n),
    () => k.matmul_q6_k(d, a, ...q, ROWS, COLS, n),
    () => k.matmul_f16(d, a, b, ROWS, COLS / 2, n),
    () => k.matmul_bf16(d, a, b, ROWS, COLS / 2, n),
    () => k.rmsnorm(d, b, a, COLS, n, 1e-5),
    () => k.swiglu(d, a, b, n * COLS),
    () => k.add(d, a, b, n * COLS),
  ];
}

/**
 * Warms the kernels of `module` (code is compiled per module, so every later instance of it benefits) and returns
 * the number of kernel calls made. Synchronous; costs a few hundred kernel calls on inputs of ~16 KiB.
 */
export function warmKernels(module: WebAssembly.Module): number {
  const k = instantiateKernels(module);
  const base = Math.ceil(k.heap_base() / 65536) * 65536;
  const need = base + 4 * 65536 - k.memory.buffer.byteLength;
  if (need > 0) k.memory.grow(Math.ceil(need / 65536));
  let made = 0;
  for (const n of TOKENS) {
    const calls = kernels(k, base, base + 65536, base + 2 * 65536, base + 3 * 65536, n);
    for (let r = 0; r < WARM_CALLS; r++) for (const call of calls) call(), made++;
  }
  return made;
}
