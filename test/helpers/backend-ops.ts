// One backend op end to end for comparison tests: upload, run, read back (async where the backend reads asynchronously).
import type { Backend, Buffer } from "../../src/backends/backend";

/** Reads `n` floats at `offset`, through `readAsync` when the backend has one (webgpu). */
export async function readBack(backend: Backend, b: Buffer, offset: number, n: number): Promise<Float32Array> {
  return backend.readAsync ? backend.readAsync(b, offset, n) : backend.read(b, offset, n);
}

/** out[t][r] = W[r] · x[t] for a `rows`×`cols` matrix of `type` given as its GGUF bytes. */
export async function runMatmul(b: Backend, type: number, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, nTokens: number): Promise<Float32Array> {
  const xb = b.createBuffer(x.length);
  b.write(xb, x);
  const out = b.createBuffer(rows * nTokens);
  b.matmul(out, b.loadMatrix("w", type, rows, cols, bytes), xb, nTokens);
  return readBack(b, out, 0, rows * nTokens);
}
