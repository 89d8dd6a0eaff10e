// Checks a long-lived wasm backend's matmul against a fresh backend's bits, and counts its quantizer calls (tests of state kept between calls).
import { expect } from "vitest";
import type { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import type { KernelExports } from "../../src/backends/wasm/kernel-exports";
import type { Buffer, Matrix } from "../../src/backends/backend";

const QUANTIZERS = ["quantize_q8_0", "quantize_q8_0_tiles", "quantize_q8_1", "quantize_q8_k"] as const;

/**
 * Counts `backend`'s activation quantizer calls from now on (through a copy of its kernel exports: the exports object
 * is frozen); read `calls` before and after an op.
 */
export function countQuantizerCalls(backend: WasmBackend): { calls: number } {
  const seen = { calls: 0 };
  const inner = (backend as unknown as { k: KernelExports }).k;
  const counted = Object.fromEntries(QUANTIZERS.map((q) => [q, (...a: number[]) => {
    seen.calls++;
    return (inner[q] as (...b: number[]) => number)(...a);
  }]));
  (backend as unknown as { k: KernelExports }).k = { ...inner, ...counted };
  return seen;
}

/**
 * shared.matmul of input's first nTokens rows of inCols floats by matrix (outRows rows) must give the bits a fresh
 * backend (fresh(), its matrix freshMatrix(it)) gives for the same floats: whatever shared kept from earlier calls.
 */
export function expectMatmulAsFresh(label: string, shared: WasmBackend, matrix: Matrix, input: Buffer, nTokens: number, inCols: number, outRows: number, fresh: () => WasmBackend, freshMatrix: (b: WasmBackend) => Matrix): void {
  const n = nTokens * inCols;
  const x = shared.read(input, 0, n);
  const out = shared.createBuffer(nTokens * outRows);
  shared.matmul(out, matrix, input, nTokens);
  const f = fresh();
  const fin = f.createBuffer(n), fout = f.createBuffer(nTokens * outRows);
  f.write(fin, x);
  f.matmul(fout, freshMatrix(f), fin, nTokens);
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  expect(bits(shared.read(out, 0, nTokens * outRows)), label).toEqual(bits(f.read(fout, 0, nTokens * outRows)));
  shared.release(out);
}
