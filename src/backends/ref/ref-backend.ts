// The reference backend: plain TypeScript loops over Float32Arrays, the spec that every other backend is tested against.
// Handles live in ref-handles.ts, matmul in ref-matmul.ts, the KV cache ops in ref-kv.ts; the row kernels in ref-ops.ts
// (exact float math) and ggml-ops.ts / ggml-dot.ts (llama.cpp's CPU arithmetic).
import { isDequantizable } from "../../quant/index";
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, RopeParams, Vector } from "../backend";
import { kvBytesToFloats, kvFloatsToBytes } from "../kv-format";
import { checkFactors } from "../rope-table";
import type { ActivationMode } from "./activation-rounding";
import { ropeGgml, swigluGgml } from "./ggml-ops";
import { buf, kv, mat, refMatrix, RefBuffer, RefKvCache, RefVector, vec } from "./ref-handles";
import { readKvRows, RefAttention, storeKvRows, writeKvRows } from "./ref-kv";
import { RefMatmul } from "./ref-matmul";
import { rmsnormRows, ropeRows, softmaxRows, swigluRows } from "./ref-ops";

export interface RefBackendOptions {
  /** "ggml" (default) rounds matmul inputs as llama.cpp's CPU kernels do; "f32" keeps exact float math. */
  activations?: ActivationMode;
}

export class RefBackend implements Backend {
  readonly name = "ref";
  readonly activations: ActivationMode;
  private weightsBytes = 0;
  private scratchBytes = 0;
  private readonly caches = new Set<RefKvCache>();
  private readonly matmulOp: RefMatmul;
  private readonly attentionOp: RefAttention;
  /** ffn_gate's row count (the feed-forward width): the row length of swiglu's inputs; 0 until loaded. */
  private ffnRowLen = 0;

  constructor(options: RefBackendOptions = {}) {
    this.activations = options.activations ?? "ggml";
    this.matmulOp = new RefMatmul(this.activations);
    this.attentionOp = new RefAttention(this.activations);
  }

  supportsWeightType(type: number): boolean {
    return isDequantizable(type);
  }

  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix {
    if (!this.supportsWeightType(type)) throw new Error(`ref backend: ${name}: weight type ${type} is not supported`);
    if (name.endsWith("ffn_gate.weight")) this.ffnRowLen = rows;
    const m = refMatrix(name, type, rows, cols, bytes);
    this.weightsBytes += m.f32 ? m.f32.byteLength : m.bytes.byteLength;
    return m;
  }

  loadVector(name: string, data: Float32Array): Vector {
    this.weightsBytes += data.byteLength;
    return new RefVector(name, Float32Array.from(data));
  }

  createBuffer(length: number): Buffer {
    this.scratchBytes += length * 4;
    return new RefBuffer(new Float32Array(length));
  }

  createKvCache(layout: KvLayout): KvCache {
    const cache = new RefKvCache(layout);
    this.caches.add(cache);
    return cache;
  }

  release(handle: Buffer | KvCache): void {
    if (handle instanceof RefKvCache) this.caches.delete(handle);
    else if (handle instanceof RefBuffer) this.scratchBytes -= handle.length * 4;
  }

  write(dst: Buffer, data: Float32Array, dstOffset = 0): void {
    buf(dst).set(data, dstOffset);
  }

  read(src: Buffer, srcOffset: number, n: number): Float32Array {
    return buf(src).slice(srcOffset, srcOffset + n);
  }

  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void {
    buf(dst).set(buf(src).subarray(srcOffset, srcOffset + n), dstOffset);
  }

  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    const o = buf(out);
    const w = mat(table);
    tokens.forEach((token, t) => {
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
        throw new RangeError(`token id ${token} is outside the vocabulary (0..${w.rows - 1})`);
      }
      o.set(this.matmulOp.matrixRow(w, token).subarray(0, w.cols), t * w.cols);
    });
  }

  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    rmsnormRows(buf(out), buf(x), vec(weight).data, nTokens, eps);
  }

  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    this.matmulOp.matmul(buf(out), mat(w), buf(x), nTokens);
  }

  rope(x: Buffer, nTokens: number, pos0: number, params: RopeParams): void {
    checkFactors(params, params.freqFactors);
    if (this.activations === "ggml") ropeGgml(buf(x), nTokens, pos0, params, params.freqFactors);
    else ropeRows(buf(x), nTokens, pos0, params, params.freqFactors);
  }

  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    const o = buf(x);
    const b = vec(bias).data;
    for (let t = 0; t < nTokens; t++) for (let j = 0; j < b.length; j++) o[t * b.length + j]! += b[j]!;
  }

  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    storeKvRows(kv(cache), layer, pos0, nTokens, buf(k), buf(v));
  }

  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    this.attentionOp.run(buf(out), buf(q), kv(cache), layer, pos0, nTokens, shape);
  }

  softmax(x: Buffer, rows: number, len: number): void {
    softmaxRows(buf(x), rows, len);
  }

  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void {
    // ggml runs silu per row in 16-lane chunks plus a libm tail, so its row length (ffn_gate's rows) matters.
    if (this.activations === "ggml") swigluGgml(buf(out), buf(gate), buf(up), n, this.ffnRowLen || n);
    else swigluRows(buf(out), buf(gate), buf(up), n);
  }

  add(out: Buffer, a: Buffer, b: Buffer, n: number): void {
    const o = buf(out);
    const x = buf(a);
    const y = buf(b);
    for (let i = 0; i < n; i++) o[i] = x[i]! + y[i]!;
  }

  readKv(cache: KvCache, pos0: number, n: number): Float32Array {
    return kvBytesToFloats(kv(cache).layout, this.readKvBytes(cache, pos0, n));
  }

  writeKv(cache: KvCache, pos0: number, n: number, data: Float32Array): void {
    const c = kv(cache);
    if (data.length !== n * c.layout.nLayers * 2 * c.kvDim) throw new RangeError(`writeKv: expected ${n * c.layout.nLayers * 2 * c.kvDim} floats, got ${data.length}`);
    this.writeKvBytes(cache, pos0, n, kvFloatsToBytes(c.layout, data));
  }

  readKvBytes(cache: KvCache, pos0: number, n: number): Uint8Array {
    return readKvRows(kv(cache), pos0, n);
  }

  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void {
    writeKvRows(kv(cache), pos0, n, data);
  }

  memory(): BackendMemory {
    let kvBytes = 0;
    for (const c of this.caches) kvBytes += c.bytes;
    return { weightsBytes: this.weightsBytes, kvBytes, scratchBytes: this.scratchBytes };
  }
}
