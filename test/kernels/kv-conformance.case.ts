// Conformance of f16 and q8_0 KV caches (part of the shared suite): storeKv's bytes, attention on them, byte round trips.
import { expect, it } from "vitest";
import type { Backend, Buffer as BackendBuffer } from "../../src/backends/backend";
import { decodeKv, encodeKv, kvRowBytes, roundQuery, type KvType } from "../../src/backends/kv-format";
import { f16ToF32, f32ToF16 } from "../../src/quant/f16";
import { attention64, nmse, randomArray, seededRandom } from "./expected";

/** On an f16 KV cache llama.cpp rounds the softmax weights to f16 (its non-flash attention multiplies V as an F16 matmul). */
const roundF16 = (w: number) => f16ToF32(f32ToF16(w));

const TYPED: readonly KvType[] = ["f16", "q8_0"];

/** The values a cache of `type` holds for these floats (rows of kvDim), and their stored bytes. */
function stored(type: KvType, x: Float32Array, kvDim: number): { values: Float32Array; bytes: Uint8Array } {
  const rows = x.length / kvDim;
  const rb = kvRowBytes(type, kvDim);
  const bytes = new Uint8Array(rows * rb);
  const values = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    encodeKv(type, x, r * kvDim, kvDim, bytes, r * rb);
    decodeKv(type, bytes, r * rb, values, r * kvDim, kvDim);
  }
  return { values, bytes };
}

/**
 * Every backend's typed caches against the spec: storeKv writes exactly kv-format's bytes (so pages restore across
 * backends), and attention equals float64 attention over the stored values with the query rounded as the K type's
 * dot takes it (kv-format roundQuery), on f16 with the softmax weights rounded to f16 — within the backend's f32
 * attention bound.
 */
export function runKvConformance(backend: Backend, upload: (x: Float32Array) => BackendBuffer, readBack: (b: BackendBuffer, o: number, n: number) => Promise<Float32Array>, tol: Record<"f16" | "q8_0", number>): void {
  // Its own seed: the inputs must not depend on which other tests of the suite a filter runs first.
  const rand = seededRandom(0x0f16);
  const readBytes = async (c: ReturnType<Backend["createKvCache"]>, pos0: number, n: number) =>
    backend.readKvBytesAsync ? backend.readKvBytesAsync(c, pos0, n) : backend.readKvBytes(c, pos0, n);

  // Head dims of 32 and 64 (q8_0 blocks never straddle heads), GQA 1..4, positions 0, mid and a long run.
  const SHAPES = [
    [2, 2, 32, 0, 1, 16],
    [4, 2, 32, 9, 3, 16],
    [8, 2, 64, 40, 5, 64],
    [3, 1, 64, 150, 2, 160],
  ] as const;
  for (const type of TYPED) {
    it.each(SHAPES)(`${type} KV: attention %i heads / %i kv heads × %i dims, pos0 %i, %i tokens, ctx %i`, async (nHeads, nKvHeads, headDim, pos0, nTokens, nCtx) => {
      const kvDim = nKvHeads * headDim;
      const cache = backend.createKvCache({ nLayers: 2, nCtx, nKvHeads, headDim, type });
      const k = randomArray(rand, (pos0 + nTokens) * kvDim);
      const v = randomArray(rand, (pos0 + nTokens) * kvDim);
      const layer = 1;
      if (pos0 > 0) backend.storeKv(cache, layer, 0, pos0, upload(k.slice(0, pos0 * kvDim)), upload(v.slice(0, pos0 * kvDim)));
      backend.storeKv(cache, layer, pos0, nTokens, upload(k.slice(pos0 * kvDim)), upload(v.slice(pos0 * kvDim)));
      const q = randomArray(rand, nTokens * nHeads * headDim);
      const out = backend.createBuffer(q.length);
      backend.attention(out, upload(q), cache, layer, pos0, nTokens, { nHeads, nKvHeads, headDim });
      const [sk, sv] = [stored(type, k, kvDim), stored(type, v, kvDim)];
      const qr = new Float32Array(q.length);
      roundQuery(type, q, 0, q.length, qr, 0);
      const want = attention64(qr, sk.values, sv.values, pos0, nTokens, nHeads, nKvHeads, headDim, type === "f16" ? roundF16 : undefined);
      // A softmax weight within f32 rounding of an f16 tie may round either way in the backend's f32 softmax and the
      // f64 spec: one f16 step, 2^-11 of that weight, NMSE up to ~1e-7; so f16 is held to at least 1e-6.
      expect(nmse(await readBack(out, 0, q.length), want)).toBeLessThanOrEqual(type === "f16" ? Math.max(tol.f16, 1e-6) : tol.q8_0);
      // The stored bytes are kv-format's, byte for byte: [layer][k|v][pos][row], layer 0 untouched (zero).
      const n = pos0 + nTokens;
      const bytes = await readBytes(cache, 0, n);
      const span = n * kvRowBytes(type, kvDim);
      expect(bytes.byteLength).toBe(2 * 2 * span);
      expect(bytes.subarray(0, 2 * span).every((b) => b === 0)).toBe(true);
      expect(Buffer.from(bytes.subarray(2 * span, 3 * span)).equals(Buffer.from(sk.bytes))).toBe(true);
      expect(Buffer.from(bytes.subarray(3 * span, 4 * span)).equals(Buffer.from(sv.bytes))).toBe(true);
      backend.release(cache);
    });

    it(`${type} KV: readKvBytes / writeKvBytes round-trip positions between caches, and attention continues identically`, async () => {
      const layout = { nLayers: 2, nCtx: 24, nKvHeads: 2, headDim: 32, type };
      const [a, b] = [backend.createKvCache(layout), backend.createKvCache(layout)];
      const kvDim = 64;
      for (let l = 0; l < 2; l++) backend.storeKv(a, l, 0, 12, upload(randomArray(rand, 12 * kvDim)), upload(randomArray(rand, 12 * kvDim)));
      const page = await readBytes(a, 0, 12);
      expect(page.byteLength).toBe(12 * 2 * 2 * kvRowBytes(type, kvDim));
      backend.writeKvBytes(b, 0, 12, page);
      expect(Buffer.from(await readBytes(b, 0, 12)).equals(Buffer.from(page))).toBe(true);
      const q = upload(randomArray(rand, 4 * 32));
      const [oa, ob] = [backend.createBuffer(4 * 32), backend.createBuffer(4 * 32)];
      const shape = { nHeads: 4, nKvHeads: 2, headDim: 32 };
      backend.attention(oa, q, a, 1, 11, 1, shape);
      backend.attention(ob, q, b, 1, 11, 1, shape);
      expect(Array.from(await readBack(ob, 0, 128))).toEqual(Array.from(await readBack(oa, 0, 128)));
      backend.release(a);
      backend.release(b);
    });
  }

  it("q8_0 KV: a head dimension that is not whole 32-blocks is refused", () => {
    expect(() => backend.createKvCache({ nLayers: 1, nCtx: 4, nKvHeads: 2, headDim: 8, type: "q8_0" })).toThrow(/divisible by 32/);
  });
}
