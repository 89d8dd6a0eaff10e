// swiglu's four-vector passes give the bits of its one-vector and scalar paths (each element on its own).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { randomArray, seededRandom } from "./expected";

describe.each([
  ["relaxed", () => kernelModules().relaxed!],
  ["simd128", () => kernelModules().simd128],
] as const)("%s swiglu", (_name, module) => {
  it.each([1003, 1536, 16, 21])("n = %i: the same bits as 4-float and 1-float calls, in place too", (n) => {
    const k = instantiateKernels(module());
    const mem = new LinearMemory(k.memory, k.heap_base());
    const rand = seededRandom(n);
    // Gates across exp's range and its edges (overflow, flush to zero, ±0, NaN) among ordinary values.
    const g = randomArray(rand, n, 12);
    [100, -100, 0, -0, NaN, 88.7, -87.4].forEach((v, i) => (g[(i * 7) % n] = v));
    const u = randomArray(rand, n, 2);
    const [gp, up, whole, parts] = [mem.alloc(n * 4), mem.alloc(n * 4), mem.alloc(n * 4), mem.alloc(n * 4)];
    mem.f32.set(g, gp / 4);
    mem.f32.set(u, up / 4);
    k.swiglu(whole, gp, up, n);
    let i = 0;
    for (; i + 4 <= n; i += 4) k.swiglu(parts + i * 4, gp + i * 4, up + i * 4, 4);
    for (; i < n; i++) k.swiglu(parts + i * 4, gp + i * 4, up + i * 4, 1);
    const bits = (p: number) => Array.from(new Uint32Array(k.memory.buffer, p, n));
    expect(bits(whole)).toEqual(bits(parts));
    k.swiglu(gp, gp, up, n); // in place, as the forward pass calls it
    expect(bits(gp)).toEqual(bits(whole));
  });
});
