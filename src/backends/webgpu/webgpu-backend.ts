/// <reference types="@webgpu/types" />
// The WebGPU backend: weights, activations and KV caches in GPU buffers; ops are recorded into one command encoder
// and submitted together when results are read back (asynchronously: readAsync), so a forward step is one submission.
// This file holds the handles (loading, allocation, release, memory) and the elementwise ops; matmul.ts,
// kv-attention.ts and rope.ts record the rest through the shared GpuContext (context.ts).
import { ggmlTypeName } from "../../gguf/ggml-types";
import { ModelError } from "../../engine/errors";
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, RopeParams, Vector } from "../backend";
import { checkKvLayout, kvBytesToFloats, kvFloatsToBytes } from "../kv-format";
import { GpuBuffer, GpuKvCache, GpuMatrix, GpuVector, floatBytes, ownBuffer, ownKvCache, ownMatrix, ownVector, uploadRows } from "./buffers";
import { GpuContext, groupsOf } from "./context";
import { GPU_FORMATS, gpuRowBytes } from "./formats";
import { openDevice, requestGpuAdapter } from "./gpu";
import { readKvFloats, recordAttention, recordStoreKv, writeKvFloats } from "./kv-attention";
import { recordEmbed, recordMatmul } from "./matmul";
import { GpuRope } from "./rope";

export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  private readonly ctx: GpuContext;
  /** Largest weight buffer: the binding limit, or lower where a test asks (to exercise splitting). */
  private readonly maxWeightChunk: number;
  private weightsBytes = 0;
  private readonly caches = new Set<GpuKvCache>();
  private readonly ropeOp: GpuRope;

  private constructor(readonly device: GPUDevice, readonly adapterDescription: string, maxWeightBytes: number) {
    this.ctx = new GpuContext(device);
    this.maxWeightChunk = Math.min(this.ctx.maxBinding, maxWeightBytes);
    this.ropeOp = new GpuRope(this.ctx);
  }

  /**
   * Opens a device on `adapter` (default: the runtime's, see gpu.ts); throws when there is none. `maxWeightBytes`
   * lowers the weight buffers' size limit below the device's (tests use it to exercise the splitting of weights).
   */
  static async create(adapter?: GPUAdapter | null, options: { maxWeightBytes?: number } = {}): Promise<WebGpuBackend> {
    const a = adapter ?? (await requestGpuAdapter());
    if (!a) throw new Error("webgpu: no WebGPU adapter is available in this runtime");
    const info = a.info;
    const description = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ") || "unknown adapter";
    return new WebGpuBackend(await openDevice(a), description, options.maxWeightBytes ?? Infinity);
  }

  /** Dispatches and submissions so far (benchmarks read these to tell overhead from arithmetic). */
  get stats(): { dispatches: number; workgroups: number; submissions: number } {
    const rec = this.ctx.rec;
    return { dispatches: rec.dispatches, workgroups: rec.workgroups, submissions: rec.submissions };
  }

  get isLost(): boolean {
    return this.ctx.watch.isLost;
  }

  supportsWeightType(type: number): boolean {
    return GPU_FORMATS.has(type);
  }

  /** A type missing from the format table, or rows that are not whole blocks, are a ModelError naming the tensor. */
  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix {
    const format = GPU_FORMATS.get(type);
    if (!format) throw new ModelError(`tensor ${name} has type ${ggmlTypeName(type)}, which the webgpu backend cannot use`);
    if (cols % format.blockElems !== 0) throw new ModelError(`tensor ${name}: rows of ${cols} are not whole ${ggmlTypeName(type)} blocks of ${format.blockElems}`);
    const rowBytes = gpuRowBytes(format, cols);
    if (bytes.byteLength < rows * rowBytes) throw new RangeError(`webgpu backend: ${name}: ${bytes.byteLength} bytes for ${rows} rows of ${rowBytes}`);
    const chunks = uploadRows(this.device, name, bytes.subarray(0, rows * rowBytes), rows, this.maxWeightChunk);
    for (const c of chunks) this.weightsBytes += c.gpu.size;
    return new GpuMatrix(this, name, type, rows, cols, chunks);
  }

  loadVector(name: string, data: Float32Array): Vector {
    const [chunk] = uploadRows(this.device, name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 1, this.ctx.maxBinding);
    this.weightsBytes += chunk!.gpu.size;
    return new GpuVector(this, name, chunk!.gpu, data.length);
  }

  createBuffer(length: number): Buffer {
    const gpu = this.ctx.pool.take(floatBytes(length));
    this.ctx.rec.clear(gpu); // pooled buffers come back dirty; fresh ones read as zero like the other backends'
    return new GpuBuffer(this, gpu, length);
  }

  createKvCache(layout: KvLayout): KvCache {
    checkKvLayout(layout);
    const { pool, rec } = this.ctx;
    const plane = () => Array.from({ length: layout.nLayers }, () => {
      const b = pool.take(floatBytes(layout.nCtx * layout.nKvHeads * layout.headDim));
      rec.clear(b);
      return b;
    });
    const cache = new GpuKvCache(this, layout, plane(), plane());
    this.caches.add(cache);
    return cache;
  }

  release(handle: Buffer | KvCache): void {
    const pool = this.ctx.pool;
    if (handle instanceof GpuKvCache && handle.owner === this && !handle.released) {
      handle.released = true;
      this.caches.delete(handle);
      for (const b of [...handle.k, ...handle.v]) pool.give(b);
    } else if (handle instanceof GpuBuffer && handle.owner === this && !handle.released) {
      handle.released = true;
      pool.give(handle.gpu);
      if (handle.quantized) {
        pool.give(handle.quantized.xq);
        pool.give(handle.quantized.xds);
      }
    }
  }

  write(dst: Buffer, data: Float32Array, dstOffset = 0): void {
    const b = this.buf(dst);
    if (dstOffset + data.length > b.length) throw new RangeError(`write of ${data.length} at ${dstOffset} overflows a buffer of ${b.length}`);
    this.ctx.rec.flush(); // queue writes land before later submissions, so recorded work goes first
    this.device.queue.writeBuffer(b.gpu, dstOffset * 4, data.buffer, data.byteOffset, data.byteLength);
    b.version++;
  }

  read(_src: Buffer, _srcOffset: number, _n: number): Float32Array {
    throw new Error("webgpu backend: results are read back asynchronously; use readAsync (the engine's nextLogitsAsync / evaluateAsync)");
  }

  /** Submits everything recorded and reads `n` floats of `src` from `srcOffset`. */
  async readAsync(src: Buffer, srcOffset: number, n: number): Promise<Float32Array> {
    const b = this.buf(src);
    if (srcOffset + n > b.length) throw new RangeError(`read of ${n} at ${srcOffset} overflows a buffer of ${b.length}`);
    return this.ctx.readBack(n * 4, (staging) => this.ctx.rec.copy(b.gpu, srcOffset * 4, staging, 0, n * 4));
  }

  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void {
    const [d, s] = [this.buf(dst), this.buf(src)];
    if (dstOffset + n > d.length || srcOffset + n > s.length) throw new RangeError(`copy of ${n} elements overflows a buffer`);
    const { pool, rec } = this.ctx;
    if (d === s) {
      // WebGPU forbids copying within one buffer: go through a temporary.
      const tmp = pool.take(floatBytes(n));
      rec.copy(s.gpu, srcOffset * 4, tmp, 0, n * 4);
      rec.copy(tmp, 0, d.gpu, dstOffset * 4, n * 4);
      pool.give(tmp);
    } else {
      rec.copy(s.gpu, srcOffset * 4, d.gpu, dstOffset * 4, n * 4);
    }
    d.version++;
  }

  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    recordEmbed(this.ctx, this.buf(out), this.mat(table), tokens);
  }

  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    const w = this.vec(weight);
    const xb = this.buf(x);
    this.ctx.intoTarget(this.buf(out), [xb], (target) => this.ctx.run("rmsnorm", [xb.gpu, w.gpu, target], { a: [weight.length, nTokens], f: [eps] }, nTokens));
  }

  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    recordMatmul(this.ctx, this.buf(out), this.mat(w), this.buf(x), nTokens);
  }

  rope(x: Buffer, nTokens: number, pos0: number, p: RopeParams): void {
    this.ropeOp.record(this.buf(x), nTokens, pos0, p);
  }

  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    const v = this.vec(bias);
    const xb = this.buf(x);
    const n = nTokens * v.length;
    this.ctx.run("add_bias", [v.gpu, xb.gpu], { a: [n, v.length] }, groupsOf(n));
    xb.version++;
  }

  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    recordStoreKv(this.ctx, this.kv(cache), layer, pos0, nTokens, this.buf(k), this.buf(v));
  }

  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    recordAttention(this.ctx, this.buf(out), this.buf(q), this.kv(cache), layer, pos0, nTokens, shape);
  }

  softmax(x: Buffer, rows: number, len: number): void {
    const xb = this.buf(x);
    this.ctx.run("softmax", [xb.gpu], { a: [rows, len] }, rows);
    xb.version++;
  }

  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void {
    const [g, u] = [this.buf(gate), this.buf(up)];
    this.ctx.intoTarget(this.buf(out), [g, u], (target) => this.ctx.run("swiglu", [g.gpu, u.gpu, target], { a: [n] }, groupsOf(n)));
  }

  add(out: Buffer, a: Buffer, b: Buffer, n: number): void {
    const [o, x, y] = [this.buf(out), this.buf(a), this.buf(b)];
    // The kernel accumulates in place (acc += other): start from whichever input `out` already is.
    if (o !== x && o !== y) this.copy(o, 0, x, 0, n);
    const other = o === x ? y : x;
    this.ctx.intoTarget(o, [other], (target) => this.ctx.run("add", [other.gpu, target], { a: [n] }, groupsOf(n)), true);
  }

  readKv(_cache: KvCache, _pos0: number, _n: number): Float32Array {
    throw new Error("webgpu backend: the KV cache is read back asynchronously; use readKvAsync");
  }

  async readKvAsync(cache: KvCache, pos0: number, n: number): Promise<Float32Array> {
    return readKvFloats(this.ctx, this.kv(cache), pos0, n);
  }

  readKvBytes(_cache: KvCache, _pos0: number, _n: number): Uint8Array {
    throw new Error("webgpu backend: the KV cache is read back asynchronously; use readKvBytesAsync");
  }

  /** The stored bytes: the planes hold exactly the type's values, so encoding them again gives the same bytes. */
  async readKvBytesAsync(cache: KvCache, pos0: number, n: number): Promise<Uint8Array> {
    return kvFloatsToBytes(this.kv(cache).layout, await this.readKvAsync(cache, pos0, n));
  }

  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void {
    this.writeKv(cache, pos0, n, kvBytesToFloats(this.kv(cache).layout, data));
  }

  writeKv(cache: KvCache, pos0: number, n: number, floats: Float32Array): void {
    writeKvFloats(this.ctx, this.kv(cache), pos0, n, floats);
  }

  memory(): BackendMemory {
    let kvBytes = 0;
    for (const c of this.caches) kvBytes += c.bytes;
    return { weightsBytes: this.weightsBytes, kvBytes, scratchBytes: Math.max(0, this.ctx.pool.bytes - kvBytes) };
  }

  /** Records `groups` workgroups of a no-op kernel (benchmark baseline for dispatch overhead). */
  noop(target: Buffer, groups: number): void {
    this.ctx.run("noop", [this.buf(target).gpu], { a: [0] }, groups);
  }

  /** Submits what is recorded and waits until the GPU has finished it. */
  async finish(): Promise<void> {
    this.ctx.rec.flush();
    await this.ctx.watch.guard(() => this.device.queue.onSubmittedWorkDone());
  }

  /** Destroys the device: every buffer is gone and later reads throw WebGpuDeviceLostError. */
  destroy(): void {
    this.device.destroy();
  }

  private buf(b: Buffer): GpuBuffer {
    return ownBuffer(this, b);
  }
  private mat(m: Matrix): GpuMatrix {
    return ownMatrix(this, m);
  }
  private kv(c: KvCache): GpuKvCache {
    return ownKvCache(this, c);
  }
  private vec(v: Vector): GpuVector {
    return ownVector(this, v);
  }
}
