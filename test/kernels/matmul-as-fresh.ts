// Checks a long-lived wasm backend's matmul against a fresh backend's bits (tests of state kept between calls).
import { expect } from "vitest";
import type { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import type { Buffer, Matrix } from "../../src/backends/backend";

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
