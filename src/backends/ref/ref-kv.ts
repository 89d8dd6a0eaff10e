// The reference backend's KV cache ops: storing rows in the cache type, attention over the decoded cache, and reading and writing its stored bytes.
import type { AttentionShape } from "../backend";
import { encodeKv, roundQuery } from "../kv-format";
import type { ActivationMode } from "./activation-rounding";
import { attentionGgml } from "./ggml-ops";
import type { RefKvCache } from "./ref-handles";
import { attentionRows } from "./ref-ops";

/** Encodes nTokens rows of k and v into the cache's layer at positions pos0... */
export function storeKvRows(c: RefKvCache, layer: number, pos0: number, nTokens: number, k: Float32Array, v: Float32Array): void {
  if (pos0 < 0 || pos0 + nTokens > c.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + nTokens} exceed the context of ${c.layout.nCtx}`);
  // Row by row: a q8_0 row's blocks are quantized on their own, as llama.cpp's set_rows does.
  for (let t = 0; t < nTokens; t++) {
    encodeKv(c.type, k, t * c.kvDim, c.kvDim, c.k[layer]!, (pos0 + t) * c.rowBytes);
    encodeKv(c.type, v, t * c.kvDim, c.kvDim, c.v[layer]!, (pos0 + t) * c.rowBytes);
  }
}

/** The stored bytes of positions [pos0, pos0 + n): each layer's K rows, then its V rows. */
export function readKvRows(c: RefKvCache, pos0: number, n: number): Uint8Array {
  const span = n * c.rowBytes;
  const out = new Uint8Array(c.layout.nLayers * 2 * span);
  let o = 0;
  for (let l = 0; l < c.layout.nLayers; l++) {
    for (const part of [c.k[l]!, c.v[l]!]) {
      out.set(part.subarray(pos0 * c.rowBytes, pos0 * c.rowBytes + span), o);
      o += span;
    }
  }
  return out;
}

/** Writes positions [pos0, pos0 + n) from bytes in readKvRows' order. */
export function writeKvRows(c: RefKvCache, pos0: number, n: number, data: Uint8Array): void {
  const span = n * c.rowBytes;
  if (data.byteLength !== c.layout.nLayers * 2 * span) throw new RangeError(`writeKvBytes: expected ${c.layout.nLayers * 2 * span} bytes, got ${data.byteLength}`);
  if (pos0 < 0 || pos0 + n > c.layout.nCtx) throw new RangeError(`writeKvBytes: positions ${pos0}..${pos0 + n} exceed the context of ${c.layout.nCtx}`);
  let o = 0;
  for (let l = 0; l < c.layout.nLayers; l++) {
    for (const part of [c.k[l]!, c.v[l]!]) {
      part.set(data.subarray(o, o + span), pos0 * c.rowBytes);
      o += span;
    }
  }
}

/** Attention over a cache layer, with the scratch it needs (scores, and a typed cache's rows decoded to floats). */
export class RefAttention {
  /** Attention score scratch (one row of positions), grown on demand. */
  private scores = new Float32Array(0);
  /** A typed cache's K and V rows and the rounded queries as floats, for attention; grown on demand. */
  private kvF32 = [new Float32Array(0), new Float32Array(0), new Float32Array(0)] as const;

  constructor(private readonly activations: ActivationMode) {}

  run(out: Float32Array, q: Float32Array, c: RefKvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    if (this.scores.length < pos0 + nTokens) this.scores = new Float32Array(c.layout.nCtx);
    const nPos = pos0 + nTokens;
    const qDim = shape.nHeads * shape.headDim;
    if (this.kvF32[0].length < c.layout.nCtx * c.kvDim || this.kvF32[2].length < nTokens * qDim) {
      const n = Math.max(this.kvF32[0].length, c.layout.nCtx * c.kvDim);
      this.kvF32 = [new Float32Array(n), new Float32Array(n), new Float32Array(Math.max(this.kvF32[2].length, nTokens * qDim))];
    }
    const [kf, vf, qf] = c.type === "f32" ? [c.f32(c.k[layer]!), c.f32(c.v[layer]!), this.kvF32[2]] : this.kvF32;
    if (c.type !== "f32") {
      c.decode(c.k[layer]!, nPos, kf);
      c.decode(c.v[layer]!, nPos, vf);
    }
    // The query as the K type's vec_dot takes it; on f32 it is the query itself.
    const qs = c.type === "f32" ? q : qf;
    if (c.type !== "f32") roundQuery(c.type, q, 0, nTokens * qDim, qf, 0);
    if (this.activations === "ggml" && c.type === "f32") attentionGgml(out, qs, kf, vf, pos0, nTokens, shape);
    else attentionRows(out, qs, kf, vf, pos0, nTokens, shape, this.scores, c.type === "f16");
  }
}
