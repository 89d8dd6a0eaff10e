// Wasm attention on f16/q8_0 caches (attention_typed on the stored rows) is bit-identical to decoding the whole layer first.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { typedScoresBytes } from "../../src/backends/wasm/typed-attention";
import { kvRowBytes, type KvType } from "../../src/backends/kv-format";
import { randomArray, seededRandom } from "./expected";

const KV_CODE = { f16: 1, q8_0: 2 } as const;

/**
 * The whole-layer computation in a fresh instance of the same module: the layer's stored K and V rows (bytes as the
 * cache holds them) decoded to f32 with kv_decode, the query rounded as the K type's dot takes it, then the layer
 * attention kernel (GQA strides from nHeads / nKvHeads), f16 softmax weights on an f16 cache.
 */
function wholeLayer(module: WebAssembly.Module, type: "f16" | "q8_0", kBytes: Uint8Array, vBytes: Uint8Array, q: Float32Array, pos0: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number): Float32Array {
  const k = instantiateKernels(module);
  const nPos = pos0 + nTokens;
  const kvDim = nKvHeads * headDim;
  const qn = q.length;
  let at = (k.heap_base() + 15) & ~15;
  const take = (bytes: number) => {
    const p = at;
    at += (bytes + 15) & ~15;
    return p;
  };
  const sizes = [kBytes.length, vBytes.length, nPos * kvDim * 4, nPos * kvDim * 4, qn * 4, qn * 4, kvRowBytes(type, qn), qn * 4, nHeads * nPos * 4 + 16];
  const need = at + sizes.reduce((n, b) => n + ((b + 15) & ~15), 0);
  if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const [kb, vb, kf, vf, qp, qr, qq, out, scores] = sizes.map(take);
  const u8 = new Uint8Array(k.memory.buffer);
  u8.set(kBytes, kb);
  u8.set(vBytes, vb);
  new Float32Array(k.memory.buffer).set(q, qp / 4);
  const code = KV_CODE[type];
  k.kv_decode(kf, kb, nPos * kvDim, code);
  k.kv_decode(vf, vb, nPos * kvDim, code);
  if (type === "f16") k.round_f16(qr, qp, qn);
  else {
    k.kv_encode(qq, qp, qn, code);
    k.kv_decode(qr, qq, qn, code);
  }
  k.attention(out, qr, kf, vf, scores, pos0, nTokens, nHeads, nKvHeads, headDim, type === "f16" ? 1 : 0, 0);
  return new Float32Array(k.memory.buffer.slice(out, out + qn * 4));
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

// [nHeads, nKvHeads, headDim, pos0, nTokens, nCtx, types]: several KV heads, GQA groups of 2..4, nPos = pos0 + nTokens
// not a multiple of 4 (the kernel's one-key tail), SmolLM2-135M's 9 / 3 × 64; f16 also with head dims that are not
// multiples of 16 or of 4 (the kernel's scalar tails; q8_0 needs headDim % 32 = 0).
const SHAPES: readonly (readonly [number, number, number, number, number, number, readonly KvType[]])[] = [
  [9, 3, 64, 0, 1, 8, ["f16", "q8_0"]],
  [9, 3, 64, 37, 6, 48, ["f16", "q8_0"]],
  [8, 2, 32, 5, 1, 16, ["f16", "q8_0"]],
  [12, 4, 32, 10, 3, 32, ["f16", "q8_0"]],
  [8, 4, 96, 21, 2, 24, ["f16", "q8_0"]],
  [6, 3, 20, 3, 4, 8, ["f16"]],
  [6, 2, 6, 9, 2, 12, ["f16"]],
];

describe.each([
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const)("%s typed-cache attention (attention_typed)", (_label, module) => {
  const rand = seededRandom(0x6ead);
  for (const [nHeads, nKvHeads, headDim, pos0, nTokens, nCtx, types] of SHAPES) {
    for (const type of types as ("f16" | "q8_0")[]) {
      it(`${type}: ${nHeads} heads / ${nKvHeads} kv heads × ${headDim}, pos0 ${pos0}, ${nTokens} tokens: the whole-layer bits`, () => {
        const backend = new WasmBackend(module());
        const kvDim = nKvHeads * headDim;
        const nPos = pos0 + nTokens;
        const layout = { nLayers: 2, nCtx, nKvHeads, headDim, type };
        const cache = backend.createKvCache(layout);
        const upload = (x: Float32Array) => {
          const b = backend.createBuffer(x.length);
          backend.write(b, x);
          return b;
        };
        // Scaled so K rows differ in magnitude (q8_0 scales per block differ) and the softmax is not flat.
        const k = randomArray(rand, nPos * kvDim, 3);
        const v = randomArray(rand, nPos * kvDim, 2);
        const layer = 1;
        if (pos0 > 0) backend.storeKv(cache, layer, 0, pos0, upload(k.slice(0, pos0 * kvDim)), upload(v.slice(0, pos0 * kvDim)));
        backend.storeKv(cache, layer, pos0, nTokens, upload(k.slice(pos0 * kvDim)), upload(v.slice(pos0 * kvDim)));
        const q = randomArray(rand, nTokens * nHeads * headDim, 2);
        const out = backend.createBuffer(q.length);
        const scratchBefore = backend.memory().scratchBytes;
        backend.attention(out, upload(q), cache, layer, pos0, nTokens, { nHeads, nKvHeads, headDim });
        const got = backend.read(out, 0, q.length);

        // The cache's stored rows of the layer: [layer][k|v][pos][row].
        const span = nPos * kvRowBytes(type, kvDim);
        const stored = backend.readKvBytes(cache, 0, nPos);
        const want = wholeLayer(module(), type, stored.subarray(2 * span, 3 * span), stored.subarray(3 * span, 4 * span), q, pos0, nTokens, nHeads, nKvHeads, headDim);
        expect(got.every(Number.isFinite)).toBe(true);
        expect(bits(got)).toEqual(bits(want));

        // Scratch the call grew: the query (uploaded before the count), the scores of one group, the rounded query
        // with its typed copy, and for a batch the scores of a tile of tokens' groups (8 tokens on f16, 32 on q8_0).
        // No f32 copy of K or V: the kernel decodes into its own 16 KiB run buffer.
        const qn = q.length, group = nHeads / nKvHeads;
        const grown = backend.memory().scratchBytes - scratchBefore - qn * 4;
        expect(typedScoresBytes(type, nCtx, group)).toBe((type === "f16" ? 8 : 32) * group * nCtx * 4);
        const tile = nTokens > 1 ? typedScoresBytes(type, nCtx, group) : 0;
        expect(grown).toBe(group * nCtx * 4 + qn * 4 + kvRowBytes(type, qn) + tile);
      });
    }
  }
});
