// One-token Q8_0 activations quantized once for consecutive matmuls of the same input (q, k, v; gate, up):
// quantize_q8_0_keep skips only when its kept copy holds the input's very bytes, and the wasm backend's results are
// the bits a fresh backend computes for each matmul alone, whatever ran between the calls.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import type { Matrix } from "../../src/backends/backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { quantize } from "../../src/quant/index";
import { randomArray, seededRandom } from "./expected";
import { expectMatmulAsFresh } from "./matmul-as-fresh";

const BUILDS = [
  ["relaxed", () => kernelModules().relaxed!],
  ["simd128", () => kernelModules().simd128],
] as const;

describe.each(BUILDS)("%s quantize_q8_0_keep", (_name, module) => {
  const n = 96, nb = n / 32;
  const qBytes = n * 3 + nb * 8; // quants, d, -Σq
  const k = instantiateKernels(module());
  const mem = new LinearMemory(k.memory, k.heap_base());
  const [xp, q, keep, ref] = [mem.alloc(n * 4), mem.alloc(qBytes), mem.alloc(n * 4), mem.alloc(qBytes)];
  const bytes = (p: number, len: number) => Array.from(new Uint8Array(k.memory.buffer, p, len));
  // What quantize_q8_0 writes: i8 and i16 quants (relaxed) or i16 ones (SIMD128), then d and -Σq at n·3.
  const written = (p: number) => [...bytes(p, k.is_relaxed() ? n * 3 : n * 2), ...bytes(p + n * 3, nb * 8)].join();
  /** quantize_q8_0_keep of x (held: 0 or 1); its return value and whether q..d..s now hold quantize_q8_0's bytes for x. */
  const run = (x: Float32Array, held: number) => {
    mem.f32.set(x, xp / 4);
    k.quantize_q8_0(xp, ref, ref + n * 3, ref + n * 3 + nb * 4, n);
    const r = k.quantize_q8_0_keep(xp, q, q + n * 3, q + n * 3 + nb * 4, n, keep, held);
    return { r, fresh: written(q) === written(ref) };
  };
  const poison = () => new Uint8Array(k.memory.buffer, q, qBytes).fill(0x55);

  it("quantizes and keeps the input when not held or when any byte differs; skips only on equal bytes", () => {
    const x = randomArray(seededRandom(0x4ee9), n, 3);
    poison();
    expect(run(x, 0)).toEqual({ r: 0, fresh: true });
    expect(bytes(keep, n * 4)).toEqual(bytes(xp, n * 4));
    // Equal bytes, held: nothing is written (the poisoned quants stay), 1 is returned.
    poison();
    expect(run(x, 1)).toEqual({ r: 1, fresh: false });
    // Equal bytes but not held: quantized again.
    expect(run(x, 0)).toEqual({ r: 0, fresh: true });
    expect(run(x, 1)).toEqual({ r: 1, fresh: true });
    // One bit of one float (first, middle, last; a sign, a NaN payload) differs: quantized again.
    for (const [i, bits] of [[0, 1], [47, 0x80000000], [n - 1, 1]] as const) {
      const y = x.slice();
      const u = new Uint32Array(y.buffer);
      u[i] = (u[i]! ^ bits) >>> 0;
      poison();
      expect(run(y, 1), `float ${i}`).toEqual({ r: 0, fresh: true });
      expect(bytes(keep, n * 4)).toEqual(bytes(xp, n * 4));
      expect(run(x, 1)).toEqual({ r: 0, fresh: true });
    }
    const nan = x.slice();
    new Uint32Array(nan.buffer)[5] = 0x7fc00001;
    expect(run(nan, 1)).toEqual({ r: 0, fresh: true });
    new Uint32Array(nan.buffer)[5] = 0x7fc00002;
    expect(run(nan, 1)).toEqual({ r: 0, fresh: true });
  });
});

describe.each([
  ["wasm-relaxed", () => kernelModules().relaxed!],
  ["wasm-simd128", () => kernelModules().simd128],
] as const)("%s one-token matmuls of one input", (_name, module) => {
  it("give a fresh backend's bits after any change of the input or of the quantized scratch, and reuse otherwise", () => {
    const rand = seededRandom(0x9e1d);
    const cols = 96;
    const types = { a: GgmlType.Q4_0, b: GgmlType.Q8_0, c: GgmlType.Q5_1, wide: GgmlType.Q4_0 } as const;
    const rows = { a: 12, b: 8, c: 8, wide: 8 } as const;
    const wcols = { a: cols, b: cols, c: cols, wide: 2 * cols } as const;
    const weights = Object.fromEntries(Object.entries(types).map(([name, t]) => {
      const key = name as keyof typeof types;
      return [key, quantize(t, randomArray(rand, rows[key] * wcols[key], 0.5))];
    })) as Record<keyof typeof types, Uint8Array>;
    const x1 = randomArray(rand, 2 * cols), x2 = randomArray(rand, 2 * cols);

    const shared = new WasmBackend(module());
    // Count the quantizer's reuses through a copy of the backend's kernel exports (the exports object is frozen).
    let reused = 0;
    const inner = (shared as unknown as { k: KernelExports }).k;
    const counting = (...a: Parameters<KernelExports["quantize_q8_0_keep"]>) => {
      const r = inner.quantize_q8_0_keep(...a);
      reused += r;
      return r;
    };
    (shared as unknown as { k: KernelExports }).k = { ...inner, quantize_q8_0_keep: counting };
    const mats = (b: WasmBackend) => Object.fromEntries(Object.entries(types).map(([name, t]) => {
      const key = name as keyof typeof types;
      return [key, b.loadMatrix(name, t, rows[key], wcols[key], weights[key])];
    })) as Record<keyof typeof types, Matrix>;
    const sm = mats(shared);
    const input = shared.createBuffer(2 * cols);

    /** shared.matmul of the input's first nTokens·cols floats against a fresh backend's bits for them. */
    const check = (label: string, m: keyof typeof types, nTokens = 1) =>
      expectMatmulAsFresh(label, shared, sm[m], input, nTokens, wcols[m], rows[m], () => new WasmBackend(module()), (b) => mats(b)[m]);

    shared.write(input, x1);
    check("first", "a");
    check("same input, Q8_0", "b");
    check("same input again", "a");
    expect(reused).toBe(2);
    shared.write(input, x2.subarray(0, cols));
    check("input rewritten", "a");
    check("rewritten input reused", "b");
    expect(reused).toBe(3);
    shared.rmsnorm(input, input, shared.loadVector("norm", randomArray(rand, cols)), 1, 1e-5);
    check("normed in place", "b");
    check("Q5_1 (Q8_1 activations in the same scratch)", "c");
    check("after Q8_1", "a");
    expect(reused).toBe(3);
    check("two tokens (prefill quantizes into the same scratch)", "a", 2);
    check("after two tokens", "b");
    check("a wider input (more columns)", "wide");
    check("narrower again", "a");
    check("and reused", "b");
    expect(reused).toBe(4);
  });
});
