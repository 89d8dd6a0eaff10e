// Chunked matrix loading (WasmBackend.beginMatrix): every format repacked chunk by chunk equals the whole tensor repacked at once.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { WASM_FORMATS } from "../../src/backends/wasm/formats";
import type { Backend, Matrix } from "../../src/backends/backend";
import { ModelError } from "../../src/engine/errors";
import { GGML_TYPES, GgmlType, ggmlTypeName } from "../../src/gguf/ggml-types";
import { randomBlocks } from "./random-blocks";
import { randomArray, seededRandom } from "./expected";

const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
] as const;

/** File bytes of a rows×cols matrix of `type`: random floats, or random blocks for the quantized types. */
function matrixBytes(rand: () => number, type: number, rows: number, cols: number): Uint8Array {
  if (type === GgmlType.F32) return new Uint8Array(randomArray(rand, rows * cols, 1).buffer);
  if (type === GgmlType.F16 || type === GgmlType.BF16) return Uint8Array.from({ length: rows * cols * 2 }, (_, i) => (i & 1 ? 0x3c - (i % 3) : Math.floor(rand() * 256)));
  return randomBlocks(rand, type, rows, cols, 0.5);
}

/** Loads through the sink in chunks of `sizes` rows (the rest in the last chunk). */
function loadChunked(b: Backend, type: number, rows: number, cols: number, bytes: Uint8Array, sizes: readonly number[]): Matrix {
  const sink = b.beginMatrix!("w", type, rows, cols);
  const rowBytes = bytes.byteLength / rows;
  let r = 0;
  for (const n of [...sizes, rows]) {
    const m = Math.min(n, rows - r);
    if (m <= 0) break;
    sink.write(r, bytes.subarray(r * rowBytes, (r + m) * rowBytes));
    r += m;
  }
  return sink.finish();
}

function run(b: Backend, w: Matrix, x: Float32Array, nTokens: number): Float32Array {
  const xb = b.createBuffer(x.length);
  b.write(xb, x);
  const out = b.createBuffer(w.rows * nTokens);
  b.matmul(out, w, xb, nTokens);
  const tokens = [0, w.rows - 1, Math.floor(w.rows / 2)];
  const emb = b.createBuffer(tokens.length * w.cols);
  b.embed(emb, w, tokens);
  return Float32Array.from([...b.read(out, 0, w.rows * nTokens), ...b.read(emb, 0, tokens.length * w.cols)]);
}

describe.each(builds)("%s: matrices loaded in row chunks", (_label, make) => {
  const rand = seededRandom(0x5eed);
  const types = [...WASM_FORMATS.keys()];

  it("covers every wasm weight format", () => expect(types.length).toBeGreaterThanOrEqual(13));

  // 13 rows: a partial last panel; chunks of 4 and 8 rows, then the rest (1 row).
  it.each(types.map((t) => [ggmlTypeName(t), t] as const))("%s: chunks of 4 and 8 rows equal the whole tensor (matmul, embed, bytes)", (_name, type) => {
    const [rows, cols, nTokens] = [13, GGML_TYPES.get(type)!.blockSize === 256 ? 512 : 64, 5];
    const bytes = matrixBytes(rand, type, rows, cols);
    const x = randomArray(rand, nTokens * cols, 1);
    const whole = make();
    const chunked = make();
    const w0 = whole.loadMatrix("w", type, rows, cols, bytes);
    const w1 = loadChunked(chunked, type, rows, cols, bytes, [4, 8]);
    expect(chunked.memory().weightsBytes).toBe(whole.memory().weightsBytes);
    expect(chunked.memory().weightsBytes).toBe(WASM_FORMATS.get(type)!.packedBytes(rows, cols));
    expect(Array.from(run(chunked, w1, x, nTokens))).toEqual(Array.from(run(whole, w0, x, nTokens)));
  });

  it("one chunk holding every row equals loadMatrix too", () => {
    const bytes = matrixBytes(rand, GgmlType.Q4_K, 6, 256);
    const x = randomArray(rand, 256, 1);
    const a = make();
    const b = make();
    expect(Array.from(run(b, loadChunked(b, GgmlType.Q4_K, 6, 256, bytes, []), x, 1))).toEqual(Array.from(run(a, a.loadMatrix("w", GgmlType.Q4_K, 6, 256, bytes), x, 1)));
  });

  it("rows out of order, a chunk ending inside a panel before the last, or a short finish are ModelErrors naming the tensor", () => {
    const b = make();
    const bytes = matrixBytes(rand, GgmlType.Q8_0, 12, 64);
    const rowBytes = bytes.byteLength / 12;
    const s1 = b.beginMatrix("w", GgmlType.Q8_0, 12, 64);
    expect(() => s1.write(4, bytes.subarray(4 * rowBytes, 8 * rowBytes))).toThrow(ModelError);
    expect(() => s1.write(0, bytes.subarray(0, 3 * rowBytes))).toThrow(/tensor w .*only the last chunk may end inside a panel/);
    expect(() => s1.write(0, bytes.subarray(0, rowBytes + 1))).toThrow(/not whole rows/);
    s1.write(0, bytes.subarray(0, 8 * rowBytes));
    expect(() => s1.finish()).toThrow(/8 of 12 rows/);
    expect(() => b.beginMatrix("v", GgmlType.Q4_K, 4, 100)).toThrow(/tensor v: rows of 100 are not whole Q4_K blocks/);
  });

  it("abandon returns the matrix's block to the allocator (a failed load leaves no weights behind)", () => {
    const b = make();
    const before = b.memory();
    const s = b.beginMatrix("w", GgmlType.Q4_0, 64, 256);
    s.abandon();
    const again = b.beginMatrix("w", GgmlType.Q4_0, 64, 256);
    again.write(0, matrixBytes(rand, GgmlType.Q4_0, 64, 256));
    again.finish();
    // The second allocation reused the first's space: linear memory did not grow past one matrix.
    expect(b.memory().reservedBytes! - before.reservedBytes!).toBeLessThanOrEqual(WASM_FORMATS.get(GgmlType.Q4_0)!.packedBytes(64, 256) + 65536);
    expect(b.memory().weightsBytes - before.weightsBytes).toBe(WASM_FORMATS.get(GgmlType.Q4_0)!.packedBytes(64, 256));
  });
});
