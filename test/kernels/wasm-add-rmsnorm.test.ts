// WasmBackend.addRmsnorm (kernel add_rmsnorm): x += b then out = rmsnorm(x) · w, the bits of the separate add and
// rmsnorm of the wasm and ref backends, for rows with and without a scalar tail and with out over x or b.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import type { Backend } from "../../src/backends/backend";
import { randomArray, seededRandom } from "./expected";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** x and out after add(x, x, b) then rmsnorm(out, x, w) on `backend` (out a buffer of its own). */
function separate(backend: Backend, x: Float32Array, b: Float32Array, w: Float32Array, nTokens: number, eps: number) {
  const [xb, bb, ob] = [backend.createBuffer(x.length), backend.createBuffer(x.length), backend.createBuffer(x.length)];
  backend.write(xb, x);
  backend.write(bb, b);
  backend.add(xb, xb, bb, x.length);
  backend.rmsnorm(ob, xb, backend.loadVector("w", w), nTokens, eps);
  return { x: bits(backend.read(xb, 0, x.length)), out: bits(backend.read(ob, 0, x.length)) };
}

describe.each([
  ["wasm-relaxed", () => kernelModules().relaxed!],
  ["wasm-simd128", () => kernelModules().simd128],
] as const)("%s addRmsnorm", (_name, module) => {
  it.each([
    [64, 1],
    [576, 3],
    [270, 2], // a scalar tail of 2 per row
    [7, 4], // rows shorter than a vector
  ])("dim %i, %i rows: add then rmsnorm's bits, out apart, over x and over b", (dim, nTokens) => {
    const rand = seededRandom(dim * 31 + nTokens);
    const n = dim * nTokens, eps = 1e-5;
    const x = randomArray(rand, n, 4), b = randomArray(rand, n, 2), w = randomArray(rand, dim, 1);
    const want = separate(new WasmBackend(module()), x, b, w, nTokens, eps);
    expect(separate(new RefBackend(), x, b, w, nTokens, eps)).toEqual(want);

    const be = new WasmBackend(module());
    const wv = be.loadVector("w", w);
    const load = () => {
      const [xb, bb] = [be.createBuffer(n), be.createBuffer(n)];
      be.write(xb, x);
      be.write(bb, b);
      return { xb, bb };
    };
    const apart = load(), out = be.createBuffer(n);
    be.addRmsnorm(apart.xb, apart.bb, out, wv, nTokens, eps);
    expect({ x: bits(be.read(apart.xb, 0, n)), out: bits(be.read(out, 0, n)) }).toEqual(want);
    expect(bits(be.read(apart.bb, 0, n))).toEqual(bits(b)); // b only read
    const overX = load();
    be.addRmsnorm(overX.xb, overX.bb, overX.xb, wv, nTokens, eps);
    expect(bits(be.read(overX.xb, 0, n))).toEqual(want.out);
    const overB = load();
    be.addRmsnorm(overB.xb, overB.bb, overB.bb, wv, nTokens, eps);
    expect({ x: bits(be.read(overB.xb, 0, n)), out: bits(be.read(overB.bb, 0, n)) }).toEqual(want);
  });

  it("refuses another backend's buffers and vectors", () => {
    const be = new WasmBackend(module()), other = new WasmBackend(module());
    const [x, b] = [be.createBuffer(32), be.createBuffer(32)];
    expect(() => be.addRmsnorm(x, b, other.createBuffer(32), be.loadVector("w", new Float32Array(32)), 1, 1e-5)).toThrow(/another backend/);
    expect(() => be.addRmsnorm(x, b, x, other.loadVector("w", new Float32Array(32)), 1, 1e-5)).toThrow(/another backend/);
  });
});
