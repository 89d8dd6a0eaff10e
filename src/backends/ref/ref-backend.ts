// The reference backend: plain TypeScript loops over Float32Arrays, the spec that every other backend is tested against.
import { GgmlType } from "../../gguf/ggml-types";
import { dequantizeRow, isDequantizable } from "../../quant/index";
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, RopeParams, Vector } from "../backend";
import { checkKvLayout, decodeKv, kvBytesToFloats, kvFloatsToBytes, kvRowBytes, kvTypeOf, encodeKv, roundQuery, type KvType } from "../kv-format";
import { roundActivations, type ActivationMode } from "./activation-rounding";
import { matmulGgml } from "./ggml-dot";
import { attentionGgml, ropeGgml, swigluGgml } from "./ggml-ops";
import { attentionRows, rmsnormRows, ropeRows, softmaxRows, swigluRows } from "./ref-ops";

class RefBuffer implements Buffer {
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

class RefVector implements Vector {
  constructor(readonly name: string, readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

/** Keeps the stored bytes; F32 matrices are also kept as a Float32Array (the file's bytes may be unaligned). */
class RefMatrix implements Matrix {
  constructor(
    readonly name: string,
    readonly type: number,
    readonly rows: number,
    readonly cols: number,
    readonly bytes: Uint8Array,
    readonly f32: Float32Array | null,
  ) {}
  get rowBytes(): number {
    return this.rows === 0 ? 0 : this.bytes.length / this.rows;
  }
}

class RefKvCache implements KvCache {
  readonly type: KvType;
  readonly kvDim: number;
  /** Bytes of one position's row of one layer's K (or V) in the cache's type. */
  readonly rowBytes: number;
  /** Per layer: K then V, each [nCtx] rows of kvDim elements stored as `type`. */
  readonly k: Uint8Array[];
  readonly v: Uint8Array[];
  constructor(readonly layout: KvLayout) {
    checkKvLayout(layout);
    this.type = kvTypeOf(layout);
    this.kvDim = layout.nKvHeads * layout.headDim;
    this.rowBytes = kvRowBytes(this.type, this.kvDim);
    const n = layout.nCtx * this.rowBytes;
    this.k = Array.from({ length: layout.nLayers }, () => new Uint8Array(n));
    this.v = Array.from({ length: layout.nLayers }, () => new Uint8Array(n));
  }
  get bytes(): number {
    return this.layout.nLayers * 2 * this.layout.nCtx * this.rowBytes;
  }
  /** An f32 plane as floats (a view: the planes are whole, aligned buffers). */
  f32(plane: Uint8Array): Float32Array {
    return new Float32Array(plane.buffer, plane.byteOffset, plane.byteLength / 4);
  }
  /** Positions [0, n) of one plane as floats (their exact stored values) into dst. */
  decode(plane: Uint8Array, n: number, dst: Float32Array): void {
    decodeKv(this.type, plane, 0, dst, 0, n * this.kvDim);
  }
}

function buf(b: Buffer): Float32Array {
  if (!(b instanceof RefBuffer)) throw new Error("ref backend: buffer belongs to another backend");
  return b.data;
}
function mat(m: Matrix): RefMatrix {
  if (!(m instanceof RefMatrix)) throw new Error("ref backend: matrix belongs to another backend");
  return m;
}
function vec(v: Vector): RefVector {
  if (!(v instanceof RefVector)) throw new Error("ref backend: vector belongs to another backend");
  return v;
}
function kv(c: KvCache): RefKvCache {
  if (!(c instanceof RefKvCache)) throw new Error("ref backend: KV cache belongs to another backend");
  return c;
}

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
  /** Dequantized row scratch, grown on demand. */
  private row = new Float32Array(0);
  /** Attention score scratch (one row of positions), grown on demand. */
  private scores = new Float32Array(0);
  /** A typed cache's K and V rows and the rounded queries as floats, for attention; grown on demand. */
  private kvF32 = [new Float32Array(0), new Float32Array(0), new Float32Array(0)] as const;
  /** Rounded copy of a matmul's input rows, grown on demand. */
  private xRounded = new Float32Array(0);
  /** ffn_gate's row count (the feed-forward width): the row length of swiglu's inputs; 0 until loaded. */
  private ffnRowLen = 0;

  constructor(options: RefBackendOptions = {}) {
    this.activations = options.activations ?? "ggml";
  }

  supportsWeightType(type: number): boolean {
    return isDequantizable(type);
  }

  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix {
    if (!this.supportsWeightType(type)) throw new Error(`ref backend: ${name}: weight type ${type} is not supported`);
    if (name.endsWith("ffn_gate.weight")) this.ffnRowLen = rows;
    let f32: Float32Array | null = null;
    if (type === GgmlType.F32) {
      f32 = new Float32Array(rows * cols);
      new Uint8Array(f32.buffer).set(bytes.subarray(0, rows * cols * 4));
    }
    this.weightsBytes += f32 ? f32.byteLength : bytes.byteLength;
    return new RefMatrix(name, type, rows, cols, f32 ? new Uint8Array(0) : bytes, f32);
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

  /** Row r of w as float32, dequantized into the shared scratch (or a view of the F32 data). */
  private matrixRow(w: RefMatrix, r: number): Float32Array {
    if (w.f32) return w.f32.subarray(r * w.cols, (r + 1) * w.cols);
    if (this.row.length < w.cols) this.row = new Float32Array(w.cols);
    dequantizeRow(w.type, w.bytes, r * w.rowBytes, this.row, 0, w.cols);
    return this.row;
  }

  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    const o = buf(out);
    const w = mat(table);
    tokens.forEach((token, t) => {
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
        throw new RangeError(`token id ${token} is outside the vocabulary (0..${w.rows - 1})`);
      }
      o.set(this.matrixRow(w, token).subarray(0, w.cols), t * w.cols);
    });
  }

  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    rmsnormRows(buf(out), buf(x), vec(weight).data, nTokens, eps);
  }

  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    const o = buf(out);
    const m = mat(w);
    const { rows, cols } = m;
    // Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 and F16 weights: ggml's own dot products, lane for lane (its float summation order decides
    // near-ties in the next activation rounding).
    if (this.activations === "ggml" && matmulGgml(o, m, buf(x), nTokens, (r) => this.matrixRow(m, r), () => this.matmulInput(buf(x), m, nTokens))) return;
    const xs = this.matmulInput(buf(x), m, nTokens);
    // Row-outer: each weight row is dequantized once and dotted with every token (weights read once per call).
    for (let r = 0; r < rows; r++) {
      const row = this.matrixRow(m, r);
      for (let t = 0; t < nTokens; t++) {
        const xBase = t * cols;
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += row[c]! * xs[xBase + c]!;
        o[t * rows + r] = sum;
      }
    }
  }

  /** The matmul's input rows, rounded per the activation mode (a copy; the caller's buffer is untouched). */
  private matmulInput(x: Float32Array, w: RefMatrix, nTokens: number): Float32Array {
    if (this.activations === "f32" || w.type === GgmlType.F32) return x;
    const n = nTokens * w.cols;
    if (this.xRounded.length < n) this.xRounded = new Float32Array(n);
    const xr = this.xRounded;
    xr.set(x.subarray(0, n));
    for (let t = 0; t < nTokens; t++) {
      roundActivations(w.type, xr.subarray(t * w.cols, (t + 1) * w.cols), w.cols);
    }
    return xr;
  }

  rope(x: Buffer, nTokens: number, pos0: number, params: RopeParams): void {
    const factors = params.freqFactors ? vec(params.freqFactors).data : undefined;
    if (this.activations === "ggml") ropeGgml(buf(x), nTokens, pos0, params, factors);
    else ropeRows(buf(x), nTokens, pos0, params, factors);
  }

  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    const o = buf(x);
    const b = vec(bias).data;
    for (let t = 0; t < nTokens; t++) for (let j = 0; j < b.length; j++) o[t * b.length + j]! += b[j]!;
  }

  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    const c = kv(cache);
    if (pos0 < 0 || pos0 + nTokens > c.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + nTokens} exceed the context of ${c.layout.nCtx}`);
    // Row by row: a q8_0 row's blocks are quantized on their own, as llama.cpp's set_rows does.
    for (let t = 0; t < nTokens; t++) {
      encodeKv(c.type, buf(k), t * c.kvDim, c.kvDim, c.k[layer]!, (pos0 + t) * c.rowBytes);
      encodeKv(c.type, buf(v), t * c.kvDim, c.kvDim, c.v[layer]!, (pos0 + t) * c.rowBytes);
    }
  }

  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    const c = kv(cache);
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
    const qs = c.type === "f32" ? buf(q) : qf;
    if (c.type !== "f32") roundQuery(c.type, buf(q), 0, nTokens * qDim, qf, 0);
    if (this.activations === "ggml" && c.type === "f32") attentionGgml(buf(out), qs, kf, vf, pos0, nTokens, shape);
    else attentionRows(buf(out), qs, kf, vf, pos0, nTokens, shape, this.scores, c.type === "f16");
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
    const c = kv(cache);
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

  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void {
    const c = kv(cache);
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

  memory(): BackendMemory {
    let kvBytes = 0;
    for (const c of this.caches) kvBytes += c.bytes;
    return { weightsBytes: this.weightsBytes, kvBytes, scratchBytes: this.scratchBytes };
  }
}
