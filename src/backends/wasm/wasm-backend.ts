// The WASM-SIMD backend: weights, activations and KV caches live in the kernel module's linear memory.
import { MAX_F32 } from "../../engine/sampler-logits";
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, MatrixSink, RopeParams, Vector } from "../backend";
import { checkKvLayout, kvBytesToFloats, kvFloatsToBytes } from "../kv-format";
import { factorCopies } from "../rope-table";
import { instantiateKernels, type KernelExports } from "./kernel-exports";
import { LinearMemory } from "./linear-memory";
import { heldNothing, prepareActivations } from "./activations";
import { DECODE_SCRATCH_PER_COL, WASM_FORMATS } from "./formats";
import { MatrixChunks, ROW_GROUP } from "./matrix-sink";
import type { PackedMatrix } from "./repack";
import { readKvPlanes, writeKvPlanes } from "./kv-planes";
import { typedAttention } from "./typed-attention";
import { f32ScoresBytes, touchKv } from "./attention-scratch";
import { KV_CODE, WasmBuffer, WasmKvCache, WasmMatrix, WasmVector } from "./wasm-handles";
import { ScratchAreas, type ScratchSlot } from "./scratch-areas";
import { namingTensor, tensorFormat } from "./tensor-errors";

export class WasmBackend implements Backend {
  readonly name: string;
  readonly relaxed: boolean;
  private readonly k: KernelExports;
  private readonly mem: LinearMemory;
  private weightsBytes = 0;
  private buffersBytes = 0;
  private readonly scratch: ScratchAreas;
  /** What the "rope" scratch holds the angles of (table address, positions, params; table 0: none yet). */
  private readonly ropeKey = { table: 0, pos0: 0, n: 0, dims: 0, base: 0, scale: 0, factors: 0 };
  /** scratchArea as one function made once: the per-op paths pass it on without making a closure per call. */
  private readonly scratchFor = (slot: ScratchSlot, bytes: number): number => this.scratch.area(slot, bytes);
  /** The quants the "actQ" and "actK" scratches hold (activations.ts); buf, kv and release drop their keys. */
  private readonly held = heldNothing();
  private readonly ropeFactors = factorCopies((f) => this.vec(this.loadVector("rope_freqs", f)).ptr); // RopeParams.freqFactors in linear memory, once per array
  private readonly caches = new Set<WasmKvCache>();
  readonly matrixRowGroup = ROW_GROUP;

  /** Instantiates a compiled kernel module (either build); the name follows the build it was handed. */
  constructor(module: WebAssembly.Module) {
    this.k = instantiateKernels(module);
    this.relaxed = this.k.is_relaxed() === 1;
    this.name = this.relaxed ? "wasm-relaxed" : "wasm-simd128";
    this.mem = new LinearMemory(this.k.memory, this.k.heap_base());
    this.scratch = new ScratchAreas(this.mem);
  }

  supportsWeightType(type: number): boolean {
    return WASM_FORMATS.has(type);
  }

  /** A type missing from the format table, or rows that are not whole blocks, are a ModelError naming the tensor. */
  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix {
    const format = tensorFormat(this.name, name, type, cols);
    const packed: PackedMatrix = namingTensor(name, type, rows, cols, () => format.pack(this.mem, rows, cols, bytes, this.relaxed));
    this.weightsBytes += packed.dataBytes + packed.scalesBytes;
    return new WasmMatrix(this, name, format, rows, cols, packed);
  }

  /** loadMatrix in chunks of whole rows: the matrix is allocated once and each chunk repacked into its panels. */
  beginMatrix(name: string, type: number, rows: number, cols: number): MatrixSink {
    const format = tensorFormat(this.name, name, type, cols);
    const named = <T>(step: () => T): T => namingTensor(name, type, rows, cols, step);
    const chunks = named(() => new MatrixChunks(this.mem, format, rows, cols, this.relaxed));
    return {
      write: (row0, bytes) => named(() => chunks.write(row0, bytes)),
      finish: () => {
        const packed = chunks.finish();
        this.weightsBytes += packed.dataBytes + packed.scalesBytes;
        return new WasmMatrix(this, name, format, rows, cols, packed);
      },
      abandon: () => chunks.abandon(),
    };
  }

  loadVector(name: string, data: Float32Array): Vector {
    const ptr = this.mem.alloc(data.length * 4);
    this.mem.f32.set(data, ptr / 4);
    this.weightsBytes += data.length * 4;
    return new WasmVector(this, name, ptr, data.length);
  }

  createBuffer(length: number): Buffer {
    const ptr = this.mem.alloc(length * 4);
    this.k.fill_zero(ptr, length * 4); // freshly grown memory is zero, recycled blocks are not
    this.buffersBytes += length * 4;
    return new WasmBuffer(this, ptr, length);
  }

  createKvCache(layout: KvLayout): KvCache {
    checkKvLayout(layout);
    const bytes = WasmKvCache.bytesFor(layout);
    const ptr = this.mem.alloc(bytes);
    this.k.fill_zero(ptr, bytes);
    const cache = new WasmKvCache(this, layout, ptr);
    this.caches.add(cache);
    return cache;
  }

  release(handle: Buffer | KvCache): void {
    if (handle instanceof WasmBuffer || handle instanceof WasmKvCache) this.dropHeldOver(handle.ptr, handle instanceof WasmBuffer ? handle.length * 4 : handle.bytes); // memory handed out again
    if (handle instanceof WasmKvCache && handle.owner === this && !handle.released) {
      handle.released = true;
      this.caches.delete(handle);
      this.mem.release(handle.ptr, handle.bytes);
    } else if (handle instanceof WasmBuffer && handle.owner === this && !handle.released) {
      handle.released = true;
      this.buffersBytes -= handle.length * 4;
      this.mem.release(handle.ptr, handle.length * 4);
    }
  }

  write(dst: Buffer, data: Float32Array, dstOffset = 0): void {
    const b = this.buf(dst);
    if (dstOffset + data.length > b.length) throw new RangeError(`write of ${data.length} at ${dstOffset} overflows a buffer of ${b.length}`);
    this.mem.f32.set(data, b.ptr / 4 + dstOffset);
  }

  read(src: Buffer, srcOffset: number, n: number): Float32Array {
    const b = this.live(src);
    if (srcOffset + n > b.length) throw new RangeError(`read of ${n} at ${srcOffset} overflows a buffer of ${b.length}`);
    const at = b.ptr + srcOffset * 4; // ArrayBuffer.slice: one copy, ~1.5-2x faster than Float32Array.slice measured
    return new Float32Array(this.k.memory.buffer.slice(at, at + n * 4));
  }

  /** Backend.argmax: the kernel scans the row where it lies (no copy out); one float is read back, mapped as the sampler maps it. */
  argmax(src: Buffer, srcOffset: number, n: number): { index: number; value: number } {
    const b = this.live(src);
    if (srcOffset + n > b.length) throw new RangeError(`argmax of ${n} at ${srcOffset} overflows a buffer of ${b.length}`);
    const at = b.ptr + srcOffset * 4;
    const index = this.k.argmax_f32(at, n);
    if (index < 0) return { index: -1, value: -Infinity };
    const v = this.mem.f32[at / 4 + index]!;
    return { index, value: v === Infinity ? MAX_F32 : v };
  }

  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void {
    this.k.copy_bytes(this.buf(dst).ptr + dstOffset * 4, this.buf(src).ptr + srcOffset * 4, n * 4);
  }

  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    const w = this.mat(table);
    const n = tokens.length;
    const tp = this.scratchArea("tokens", n * 4);
    const i32 = this.mem.i32;
    for (let t = 0; t < n; t++) {
      const token = tokens[t]!;
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
        throw new RangeError(`token id ${token} is outside the vocabulary (0..${w.rows - 1})`);
      }
      i32[tp / 4 + t] = token;
    }
    w.format.embed(this.k, this.buf(out).ptr, w, w.cols, tp, n);
  }

  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    const w = this.vec(weight);
    this.k.rmsnorm(this.buf(out).ptr, this.live(x).ptr, w.ptr, w.length, nTokens, eps);
  }

  /** Backend.addRmsnorm: the residual add and the next norm in one kernel call (one pass less over x). */
  addRmsnorm(x: Buffer, b: Buffer, out: Buffer, weight: Vector, nTokens: number, eps: number): void {
    const w = this.vec(weight);
    this.k.add_rmsnorm(this.buf(x).ptr, this.live(b).ptr, this.live(out).ptr, w.ptr, w.length, nTokens, eps);
  }

  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    const m = this.mat(w); // the matrix is its own PackedMatrix (wasm-handles.ts): one object read per call
    // Buffers checked without buf(): x is only read, and out drops the held quants only where it overlaps their input.
    const xp = this.live(x).ptr, op = this.live(out).ptr;
    const a = prepareActivations(this.k, m.activation, xp, nTokens * m.cols, this.relaxed, this.scratchFor, this.held, m.cols);
    this.dropHeldOver(op, m.rows * nTokens * 4);
    if (nTokens === 1 && m.decode) {
      m.decode(this.k, op, m, a, m.rows, m.cols, this.scratchArea("decodeX", m.cols * DECODE_SCRATCH_PER_COL));
      return;
    }
    m.matmul(this.k, op, m, a, m.rows, m.cols, nTokens);
  }

  rope(x: Buffer, nTokens: number, pos0: number, p: RopeParams): void {
    // The angles depend only on the positions and the params: q and k of every layer share one table.
    const table = this.scratchArea("rope", nTokens * p.ropeDims * 8);
    const factors = this.ropeFactors(p) ?? 0;
    const key = this.ropeKey; // compared field by field: no key string per call
    if (key.table !== table || key.pos0 !== pos0 || key.n !== nTokens || key.dims !== p.ropeDims || key.base !== p.freqBase || key.scale !== p.freqScale || key.factors !== factors) {
      this.k.rope_table(table, nTokens, pos0, p.ropeDims, p.freqBase, p.freqScale, factors);
      Object.assign(key, { table, pos0, n: nTokens, dims: p.ropeDims, base: p.freqBase, scale: p.freqScale, factors });
    }
    this.k.rope(this.buf(x).ptr, table, nTokens, p.nHeads, p.headDim, p.ropeDims, p.style === "neox" ? 1 : 0);
  }

  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    const v = this.vec(bias);
    this.k.add_bias(this.buf(x).ptr, v.ptr, nTokens, v.length);
  }

  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    const c = this.kv(cache);
    if (pos0 < 0 || pos0 + nTokens > c.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + nTokens} exceed the context of ${c.layout.nCtx}`);
    const at = pos0 * c.rowBytes;
    if (c.type === "f32") {
      this.k.copy_bytes(c.k(layer) + at, this.buf(k).ptr, nTokens * c.rowBytes);
      this.k.copy_bytes(c.v(layer) + at, this.buf(v).ptr, nTokens * c.rowBytes);
      return;
    }
    // Rows are whole q8_0 blocks (kvDim % 32 = 0), so consecutive rows convert as one run.
    this.k.kv_encode(c.k(layer) + at, this.buf(k).ptr, nTokens * c.kvDim, KV_CODE[c.type]);
    this.k.kv_encode(c.v(layer) + at, this.buf(v).ptr, nTokens * c.kvDim, KV_CODE[c.type]);
  }

  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    const c = this.kv(cache);
    if (pos0 + nTokens > c.layout.nCtx) throw new RangeError(`attention past the context of ${c.layout.nCtx}`);
    const group = shape.nHeads / shape.nKvHeads;
    const op = this.buf(out).ptr, qp = this.buf(q).ptr;
    if (c.type === "f32") {
      // Every head's scores (the kernel walks the cache once for all KV heads), then 16 bytes for its cache touches.
      const scores = this.scratchArea("scores", f32ScoresBytes(shape.nHeads, c.layout.nCtx));
      this.k.attention(op, qp, c.k(layer), c.v(layer), scores, pos0, nTokens, shape.nHeads, shape.nKvHeads, shape.headDim, 0, touchKv(this.weightsBytes, c.bytes));
      return;
    }
    const scores = this.scratchArea("scores", group * c.layout.nCtx * 4);
    const typed = { type: c.type, nCtx: c.layout.nCtx, rowBytes: c.rowBytes, k: c.k(layer), v: c.v(layer) };
    typedAttention(this.k, this.scratchFor, op, qp, typed, scores, pos0, nTokens, shape);
  }

  softmax(x: Buffer, rows: number, len: number): void {
    this.k.softmax(this.buf(x).ptr, rows, len);
  }

  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void {
    this.k.swiglu(this.buf(out).ptr, this.buf(gate).ptr, this.buf(up).ptr, n);
  }

  add(out: Buffer, a: Buffer, b: Buffer, n: number): void {
    this.k.add(this.buf(out).ptr, this.buf(a).ptr, this.buf(b).ptr, n);
  }

  readKv(cache: KvCache, pos0: number, n: number): Float32Array {
    return kvBytesToFloats(this.kv(cache).layout, this.readKvBytes(cache, pos0, n));
  }

  writeKv(cache: KvCache, pos0: number, n: number, data: Float32Array): void {
    const c = this.kv(cache);
    const want = n * c.layout.nLayers * 2 * c.kvDim;
    if (data.length !== want) throw new RangeError(`writeKv: expected ${want} floats, got ${data.length}`);
    this.writeKvBytes(cache, pos0, n, kvFloatsToBytes(c.layout, data));
  }

  readKvBytes(cache: KvCache, pos0: number, n: number): Uint8Array {
    return readKvPlanes(this.mem.u8, this.kv(cache), pos0, n);
  }

  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void {
    writeKvPlanes(this.mem.u8, this.kv(cache), pos0, n, data);
  }

  memory(): BackendMemory {
    let kvBytes = 0;
    for (const c of this.caches) kvBytes += c.bytes;
    const scratchBytes = this.buffersBytes + this.scratch.bytes;
    return { weightsBytes: this.weightsBytes, kvBytes, scratchBytes, reservedBytes: this.mem.byteLength };
  }

  /** All of linear memory: what this backend costs the isolate (weights, KV, scratch, allocator slack). */
  get linearMemoryBytes(): number {
    return this.mem.byteLength;
  }

  /** A scratch area of at least `bytes` (ScratchAreas.area). */
  private scratchArea(slot: ScratchSlot, bytes: number): number {
    return this.scratch.area(slot, bytes);
  }

  /** Drops the held quants whose input overlaps the `bytes` at p (about to be written or freed). */
  private dropHeldOver(p: number, bytes: number): void {
    const { q8, k } = this.held;
    if (q8.x >= 0 && p < q8.x + q8.n * 4 && q8.x < p + bytes) q8.x = -1;
    if (k.x >= 0 && p < k.x + k.n * 4 && k.x < p + bytes) k.x = -1;
  }

  /** Forgets every held quantization (an op may write memory they came from). */
  private dropHeld(): void {
    this.held.q8.x = -1;
    this.held.k.x = -1;
  }

  /** A buffer an op may write: the held quants no longer vouch for their input. */
  private buf(b: Buffer): WasmBuffer {
    this.dropHeld();
    return this.live(b);
  }
  private live(b: Buffer): WasmBuffer {
    if (!(b instanceof WasmBuffer) || b.owner !== this) throw new Error(`${this.name} backend: buffer belongs to another backend`);
    if (b.released) throw new Error(`${this.name} backend: buffer used after release`);
    return b;
  }
  private mat(m: Matrix): WasmMatrix {
    if (!(m instanceof WasmMatrix) || m.owner !== this) throw new Error(`${this.name} backend: matrix belongs to another backend`);
    return m;
  }
  private vec(v: Vector): WasmVector {
    if (!(v instanceof WasmVector) || v.owner !== this) throw new Error(`${this.name} backend: vector belongs to another backend`);
    return v;
  }

  private kv(c: KvCache): WasmKvCache {
    this.dropHeld();
    if (!(c instanceof WasmKvCache) || c.owner !== this) throw new Error(`${this.name} backend: KV cache belongs to another backend`);
    if (c.released) throw new Error(`${this.name} backend: KV cache used after release`);
    return c;
  }
}
