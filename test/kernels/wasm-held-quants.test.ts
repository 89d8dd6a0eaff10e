// One-token matmuls of one input (a step's q, k, v; gate, up) quantize it once, Q8_0 and Q8_K alike: the wasm
// backend keeps the quants under their input's address while nothing can have written it, and its results are the
// bits a fresh backend computes for each matmul alone, whatever ran between the calls.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import type { Buffer, Matrix } from "../../src/backends/backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { quantize } from "../../src/quant/index";
import { randomArray, seededRandom } from "./expected";
import { countQuantizerCalls, expectMatmulAsFresh } from "./matmul-as-fresh";

describe.each([
  ["wasm-relaxed", () => kernelModules().relaxed!],
  ["wasm-simd128", () => kernelModules().simd128],
] as const)("%s one-token matmuls of one input", (_name, module) => {
  it("give a fresh backend's bits after any change of the input or of the quantized scratches, and quantize once otherwise", () => {
    const rand = seededRandom(0x9e1d);
    const cols = 256;
    // a, b: Q4_0 (Q8_0 tiles: one token's are Q8_0's row); q8: Q8_0; c: Q5_1 (Q8_1 in the same scratch);
    // k4, k6: Q4_K and Q6_K (Q8_K, a scratch of its own); wide: a longer row.
    const types = { a: GgmlType.Q4_0, b: GgmlType.Q4_0, q8: GgmlType.Q8_0, c: GgmlType.Q5_1, k4: GgmlType.Q4_K, k6: GgmlType.Q6_K, wide: GgmlType.Q4_0 } as const;
    type Name = keyof typeof types;
    const rows = { a: 12, b: 8, q8: 8, c: 8, k4: 8, k6: 12, wide: 8 } as const;
    const wcols = (m: Name) => (m === "wide" ? 2 * cols : cols);
    const weights = Object.fromEntries(Object.entries(types).map(([name, t]) => [name, quantize(t, randomArray(rand, rows[name as Name] * wcols(name as Name), 0.5))])) as Record<Name, Uint8Array>;
    const x1 = randomArray(rand, 2 * cols), x2 = randomArray(rand, 2 * cols);

    const shared = new WasmBackend(module());
    const seen = countQuantizerCalls(shared);
    const mats = (b: WasmBackend) => Object.fromEntries(Object.entries(types).map(([name, t]) => [name, b.loadMatrix(name, t, rows[name as Name], wcols(name as Name), weights[name as Name])])) as Record<Name, Matrix>;
    const sm = mats(shared);
    const norm = shared.loadVector("norm", randomArray(rand, cols));
    let input: Buffer = shared.createBuffer(2 * cols);
    const other = shared.createBuffer(2 * cols);
    shared.write(other, x2);

    /** shared.matmul of the input's first nTokens rows against a fresh backend's bits for them; the quantizer calls it made. */
    const check = (label: string, m: Name, nTokens = 1): number => {
      const before = seen.calls; // only shared's quantizers are counted: the fresh backend has its own exports
      expectMatmulAsFresh(label, shared, sm[m], input, nTokens, wcols(m), rows[m], () => new WasmBackend(module()), (b) => mats(b)[m]);
      return seen.calls - before;
    };

    shared.write(input, x1);
    expect(check("first", "a")).toBe(1);
    expect(check("same input: reused (q, k, v)", "b")).toBe(0);
    expect(check("Q8_0 weights: one token's tiles are Q8_0's row", "q8")).toBe(0);
    expect(check("Q4_K: the Q8_K scratch", "k4")).toBe(1);
    expect(check("Q6_K: Q8_K reused", "k6")).toBe(0);
    expect(check("the Q8_0 quants outlived the Q8_K ones' use", "a")).toBe(0);
    shared.write(input, x2.subarray(0, cols));
    expect(check("input rewritten", "a")).toBe(1);
    expect(check("input rewritten, Q8_K", "k6")).toBe(1);
    expect(check("rewritten input reused", "b")).toBe(0);
    shared.rmsnorm(input, input, norm, 1, 1e-5);
    expect(check("normed in place", "b")).toBe(1);
    expect(check("normed in place, Q8_K", "k4")).toBe(1);
    // Ops writing another buffer drop the quants too (one rule for every writing op), and the results stay right.
    shared.add(other, other, other, cols);
    expect(check("after an add elsewhere", "a")).toBe(1);
    // A matmul's output clear of the input keeps them; one over the input drops them.
    const out = shared.createBuffer(rows.k6);
    shared.matmul(out, sm.k6, input, 1);
    expect(check("an output elsewhere: reused", "q8")).toBe(0);
    expect(check("an output elsewhere: Q8_K reused", "k4")).toBe(0);
    shared.matmul(input, sm.a, input, 1); // 12 floats over the start of the input
    expect(check("an output over the input", "a")).toBe(1);
    expect(check("an output over the input, Q8_K", "k4")).toBe(1);
    // The fused residual add and norm write x and out: both drop.
    shared.addRmsnorm(input, other, other, norm, 1, 1e-5);
    expect(check("input += other", "b")).toBe(1);
    expect(check("reused", "a")).toBe(0);
    shared.addRmsnorm(other, other, input, norm, 1, 1e-5);
    expect(check("input = rmsnorm(other)", "b")).toBe(1);
    shared.copy(input, 3, other, 0, 4);
    expect(check("four floats copied in", "a")).toBe(1);
    expect(check("Q5_1: Q8_1 in the same scratch", "c")).toBe(1);
    expect(check("after Q8_1", "a")).toBe(1);
    expect(check("two tokens: another size", "a", 2)).toBe(1);
    expect(check("one token again", "b")).toBe(1);
    expect(check("a wider row", "wide")).toBe(1);
    expect(check("narrower again", "a")).toBe(1);
    expect(check("and reused", "b")).toBe(0);
    // The input released and a buffer of the same size made again: the same memory (zeroed), unwritten since.
    expect(check("held before the release", "a")).toBe(0);
    shared.release(input);
    const again = shared.createBuffer(2 * cols);
    expect((again as unknown as { ptr: number }).ptr).toBe((input as unknown as { ptr: number }).ptr);
    input = again;
    expect(check("a new buffer over the old input", "b")).toBe(1);
    expect(check("a new buffer over the old input, Q8_K", "k4")).toBe(1);
  });
});
