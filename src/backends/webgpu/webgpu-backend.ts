/// <reference types="@webgpu/types" />
// The WebGPU backend: weights, activations and KV caches in GPU buffers; ops are recorded into one command encoder
// and submitted together when results are read back (asynchronously: readAsync), so a forward step is one submission.
import { ggmlTypeName } from "../../gguf/ggml-types";
import { ModelError } from "../../engine/errors";
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, RopeParams, Vector } from "../backend";
import { kvFloatsPerPosition } from "../backend";
import { ggmlRopeTable } from "../rope-table";
import { checkKvLayout, kvBytesToFloats, kvFloatsToBytes, kvTypeOf, type KvType } from "../kv-format";
import { BufferPool, GpuBuffer, GpuKvCache, GpuMatrix, GpuVector, floatBytes, ownBuffer, ownKvCache, ownMatrix, ownVector, uploadRows } from "./buffers";
import { DeviceWatch } from "./device-watch";
import { GPU_FORMATS, gpuRowBytes, type GpuActivation } from "./formats";
import { openDevice, requestGpuAdapter } from "./gpu";
import { KernelCache, type KernelName } from "./kernels";
import { MAX_TOKENS_PER_DISPATCH, Recorder, type DispatchParams } from "./recorder";

const TOKENS_PER_GROUP = 4; // TT in matmul_*.wgsl
const HEADS_PER_GROUP = 8; // HG in attention.wgsl
const MAX_HEAD_DIM = 128; // MAX_HD in attention.wgsl
const groupsOf = (n: number) => Math.ceil(n / 64);
/** kv_round.wgsl's mode per KV type (0: nothing to round). */
const KV_ROUND: Record<KvType, number> = { f32: 0, f16: 1, q8_0: 2 };

export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  private readonly rec: Recorder;
  private readonly kernels: KernelCache;
  private readonly pool: BufferPool;
  private readonly maxBinding: number;
  /** Largest weight buffer: the binding limit, or lower where a test asks (to exercise splitting). */
  private readonly maxWeightChunk: number;
  private weightsBytes = 0;
  private readonly caches = new Set<GpuKvCache>();
  private readonly watch: DeviceWatch;
  /** The RoPE table on the device: its key, and the submission count when a dispatch last bound it. */
  private readonly ropeCache: { key: string; buffer?: GPUBuffer; usedAt: number } = { key: "", usedAt: -1 };

  private constructor(readonly device: GPUDevice, readonly adapterDescription: string, maxWeightBytes: number) {
    const l = device.limits;
    this.maxBinding = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    this.maxWeightChunk = Math.min(this.maxBinding, maxWeightBytes);
    this.rec = new Recorder(device, l.maxComputeWorkgroupsPerDimension);
    this.kernels = new KernelCache(device);
    this.pool = new BufferPool(device, this.maxBinding);
    this.watch = new DeviceWatch(device);
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
    return { dispatches: this.rec.dispatches, workgroups: this.rec.workgroups, submissions: this.rec.submissions };
  }

  get isLost(): boolean {
    return this.watch.isLost;
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
    const [chunk] = uploadRows(this.device, name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 1, this.maxBinding);
    this.weightsBytes += chunk!.gpu.size;
    return new GpuVector(this, name, chunk!.gpu, data.length, data.length <= 4096 ? Float32Array.from(data) : undefined);
  }

  createBuffer(length: number): Buffer {
    const gpu = this.pool.take(floatBytes(length));
    this.rec.clear(gpu); // pooled buffers come back dirty; fresh ones read as zero like the other backends'
    return new GpuBuffer(this, gpu, length);
  }

  createKvCache(layout: KvLayout): KvCache {
    checkKvLayout(layout);
    const plane = () => Array.from({ length: layout.nLayers }, () => {
      const b = this.pool.take(floatBytes(layout.nCtx * layout.nKvHeads * layout.headDim));
      this.rec.clear(b);
      return b;
    });
    const cache = new GpuKvCache(this, layout, plane(), plane());
    this.caches.add(cache);
    return cache;
  }

  release(handle: Buffer | KvCache): void {
    if (handle instanceof GpuKvCache && handle.owner === this && !handle.released) {
      handle.released = true;
      this.caches.delete(handle);
      for (const b of [...handle.k, ...handle.v]) this.pool.give(b);
    } else if (handle instanceof GpuBuffer && handle.owner === this && !handle.released) {
      handle.released = true;
      this.pool.give(handle.gpu);
      if (handle.quantized) {
        this.pool.give(handle.quantized.xq);
        this.pool.give(handle.quantized.xds);
      }
    }
  }

  write(dst: Buffer, data: Float32Array, dstOffset = 0): void {
    const b = this.buf(dst);
    if (dstOffset + data.length > b.length) throw new RangeError(`write of ${data.length} at ${dstOffset} overflows a buffer of ${b.length}`);
    this.rec.flush(); // queue writes land before later submissions, so recorded work goes first
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
    return this.readBack(n * 4, (staging) => this.rec.copy(b.gpu, srcOffset * 4, staging, 0, n * 4));
  }

  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void {
    const [d, s] = [this.buf(dst), this.buf(src)];
    if (dstOffset + n > d.length || srcOffset + n > s.length) throw new RangeError(`copy of ${n} elements overflows a buffer`);
    if (d === s) {
      // WebGPU forbids copying within one buffer: go through a temporary.
      const tmp = this.pool.take(floatBytes(n));
      this.rec.copy(s.gpu, srcOffset * 4, tmp, 0, n * 4);
      this.rec.copy(tmp, 0, d.gpu, dstOffset * 4, n * 4);
      this.pool.give(tmp);
    } else {
      this.rec.copy(s.gpu, srcOffset * 4, d.gpu, dstOffset * 4, n * 4);
    }
    d.version++;
  }

  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    const o = this.buf(out);
    const w = this.mat(table);
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) throw new RangeError(`token id ${token} is outside the vocabulary (0..${w.rows - 1})`);
    }
    if (tokens.length * w.cols > o.length) throw new RangeError(`embed of ${tokens.length} rows overflows a buffer of ${o.length}`);
    const kernel = this.kernels.get("embed", { WTYPE: w.type });
    for (let t0 = 0; t0 < tokens.length; t0 += MAX_TOKENS_PER_DISPATCH) {
      const tok = tokens.slice(t0, t0 + MAX_TOKENS_PER_DISPATCH);
      for (const c of w.chunks) {
        if (!tok.some((t) => t >= c.r0 && t < c.r0 + c.rows)) continue;
        this.rec.dispatch(kernel, [c.gpu, o.gpu], { a: [tok.length, w.cols, c.r0, c.rows], b: [t0], tok }, groupsOf(tok.length * w.cols));
      }
    }
    o.version++;
  }

  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    const w = this.vec(weight);
    const xb = this.buf(x);
    this.intoTarget(this.buf(out), [xb], (target) => this.run("rmsnorm", [xb.gpu, w.gpu, target], { a: [weight.length, nTokens], f: [eps] }, nTokens));
  }

  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    const m = this.mat(w);
    const xb = this.buf(x);
    const o = this.buf(out);
    if (nTokens * m.cols > xb.length || nTokens * m.rows > o.length) throw new RangeError(`matmul ${m.name}: ${nTokens} tokens overflow the buffers`);
    const format = GPU_FORMATS.get(m.type)!; // loadMatrix admitted only table types
    const inputs = format.activation === "f32" ? [xb.gpu] : this.quantizeInput(xb, nTokens * m.cols, format.activation);
    // Threads per row: about 64 elements or 8 blocks each, so short rows share a workgroup (a workgroup's fixed cost
    // dominates small rows on software adapters) and long ones get the whole workgroup.
    const split = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(m.cols / format.threadElems)))));
    const kernel = this.kernels.get(format.matmul, { WTYPE: m.type, SPLIT: split });
    this.intoTarget(o, [xb], (target) => {
      for (const c of m.chunks) {
        const groups = Math.ceil(c.rows / (64 / split));
        this.rec.dispatch(kernel, [c.gpu, ...inputs, target], { a: [c.rows, m.cols, nTokens, c.r0], b: [m.rows] }, groups, Math.ceil(nTokens / TOKENS_PER_GROUP));
      }
    });
  }

  /**
   * The first `n` elements of x quantized to ggml's activation format for the weight type (quantize_act.wgsl), reused
   * while x is unchanged. Q8_0 and Q8_1 are one quantization (the kernel writes Q8_1's s beside Q8_0's d).
   */
  private quantizeInput(x: GpuBuffer, n: number, kind: Exclude<GpuActivation, "f32">): GPUBuffer[] {
    const block = kind === "q8_k" ? 256 : 32;
    const q = x.quantized;
    if (q && q.version === x.version && q.elements === n && q.block === block) return [q.xq, q.xds];
    const buffers = q ?? { xq: this.pool.take(floatBytes(x.length / 4)), xds: this.pool.take(floatBytes(Math.ceil(x.length / 32) * 4)) };
    this.run("quantize_act", [x.gpu, buffers.xq, buffers.xds], { a: [n / block, block === 256 ? 1 : 0] }, groupsOf(n / block));
    x.quantized = { xq: buffers.xq, xds: buffers.xds, version: x.version, elements: n, block };
    return [buffers.xq, buffers.xds];
  }

  rope(x: Buffer, nTokens: number, pos0: number, p: RopeParams): void {
    if (p.ropeDims % 2 !== 0 || p.ropeDims > p.headDim) throw new RangeError(`rope: ropeDims ${p.ropeDims} must be even and at most headDim ${p.headDim}`);
    const xb = this.buf(x);
    const pairs = nTokens * p.nHeads * (p.ropeDims / 2);
    this.run("rope", [this.ropeTable(nTokens, pos0, p), xb.gpu], { a: [nTokens, p.nHeads, p.headDim, p.ropeDims], b: [0, p.style === "neox" ? 1 : 0] }, groupsOf(pairs));
    xb.version++;
  }

  /** The cos/sin table of these positions (ggmlRopeTable), uploaded when it changes: q and k of every layer share it. */
  private ropeTable(nTokens: number, pos0: number, p: RopeParams): GPUBuffer {
    const factors = p.freqFactors ? this.vec(p.freqFactors) : undefined;
    if (factors && !factors.host) throw new Error(`rope: frequency factors ${factors.name} are too long to keep on the host`);
    const key = `${nTokens}:${pos0}:${p.ropeDims}:${p.freqBase}:${p.freqScale}:${factors?.name ?? ""}`;
    const bytes = nTokens * p.ropeDims * 4;
    if (key !== this.ropeCache.key || bytes > (this.ropeCache.buffer?.size ?? 0)) {
      const table = ggmlRopeTable(nTokens, pos0, p, factors?.host);
      if (bytes > (this.ropeCache.buffer?.size ?? 0)) {
        if (this.ropeCache.buffer) this.pool.give(this.ropeCache.buffer);
        this.ropeCache.buffer = this.pool.take(Math.max(bytes, 4096));
      }
      // Work recorded with the previous table must be submitted before the write lands. Each forward step reads its
      // logits back (one submission), so a new step finds the table's last use already submitted: no extra flush.
      if (this.ropeCache.usedAt === this.rec.submissions) this.rec.flush();
      this.device.queue.writeBuffer(this.ropeCache.buffer!, 0, table.buffer, table.byteOffset, table.byteLength);
      this.ropeCache.key = key;
    }
    this.ropeCache.usedAt = this.rec.submissions;
    return this.ropeCache.buffer!;
  }

  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    const v = this.vec(bias);
    const xb = this.buf(x);
    const n = nTokens * v.length;
    this.run("add_bias", [v.gpu, xb.gpu], { a: [n, v.length] }, groupsOf(n));
    xb.version++;
  }

  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    const c = this.kv(cache);
    if (pos0 < 0 || pos0 + nTokens > c.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + nTokens} exceed the context of ${c.layout.nCtx}`);
    if (layer < 0 || layer >= c.layout.nLayers) throw new RangeError(`layer ${layer} outside 0..${c.layout.nLayers - 1}`);
    const bytes = nTokens * c.kvDim * 4;
    this.rec.copy(this.buf(k).gpu, 0, c.k[layer]!, pos0 * c.kvDim * 4, bytes);
    this.rec.copy(this.buf(v).gpu, 0, c.v[layer]!, pos0 * c.kvDim * 4, bytes);
    // An f16 or q8_0 cache is held as f32 planes of the values that type stores (rounded in place; see kv_round.wgsl):
    // the same numbers and page bytes as ref and wasm, though GPU memory stays f32 (it is not the isolate's budget).
    const mode = KV_ROUND[kvTypeOf(c.layout)];
    if (mode !== 0) for (const plane of [c.k[layer]!, c.v[layer]!]) this.roundKv(plane, pos0 * c.kvDim, nTokens * c.kvDim, mode);
  }

  /** Rounds n floats of `buffer` from element `first` to the KV type `mode` (kv_round.wgsl). */
  private roundKv(buffer: GPUBuffer, first: number, n: number, mode: number): void {
    this.run("kv_round", [buffer], { a: [first, n, mode] }, groupsOf(mode === 1 ? n : n / 32));
  }

  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    const c = this.kv(cache);
    if (pos0 + nTokens > c.layout.nCtx) throw new RangeError(`attention past the context of ${c.layout.nCtx}`);
    const { nHeads, nKvHeads, headDim } = shape;
    if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} heads do not share ${nKvHeads} KV heads evenly`);
    const chunks = Math.ceil(nHeads / nKvHeads / HEADS_PER_GROUP);
    if (headDim > MAX_HEAD_DIM) throw new RangeError(`attention: head dimension ${headDim} exceeds the kernel's ${MAX_HEAD_DIM}`);
    const qb = this.buf(q);
    // On a typed cache the query is rounded as the K type's dot takes it, in a copy (the caller's q is left as is).
    const mode = KV_ROUND[kvTypeOf(c.layout)];
    const qBytes = nTokens * nHeads * headDim * 4;
    const qr = mode === 0 ? null : this.pool.take(Math.ceil(qBytes / 16) * 16);
    if (qr) {
      this.rec.copy(qb.gpu, 0, qr, 0, qBytes);
      this.roundKv(qr, 0, qBytes / 4, mode);
    }
    this.intoTarget(this.buf(out), [qb], (target) =>
      this.run("attention", [qr ?? qb.gpu, c.k[layer]!, c.v[layer]!, target], { a: [nHeads, nKvHeads, headDim], b: [pos0, nTokens, chunks], f: [1 / Math.sqrt(headDim)] }, nTokens * nKvHeads * chunks),
    );
    if (qr) this.pool.give(qr); // later users of the buffer run after this dispatch (commands execute in order)
  }

  softmax(x: Buffer, rows: number, len: number): void {
    const xb = this.buf(x);
    this.run("softmax", [xb.gpu], { a: [rows, len] }, rows);
    xb.version++;
  }

  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void {
    const [g, u] = [this.buf(gate), this.buf(up)];
    this.intoTarget(this.buf(out), [g, u], (target) => this.run("swiglu", [g.gpu, u.gpu, target], { a: [n] }, groupsOf(n)));
  }

  add(out: Buffer, a: Buffer, b: Buffer, n: number): void {
    const [o, x, y] = [this.buf(out), this.buf(a), this.buf(b)];
    // The kernel accumulates in place (acc += other): start from whichever input `out` already is.
    if (o !== x && o !== y) this.copy(o, 0, x, 0, n);
    const other = o === x ? y : x;
    this.intoTarget(o, [other], (target) => this.run("add", [other.gpu, target], { a: [n] }, groupsOf(n)), true);
  }

  readKv(_cache: KvCache, _pos0: number, _n: number): Float32Array {
    throw new Error("webgpu backend: the KV cache is read back asynchronously; use readKvAsync");
  }

  async readKvAsync(cache: KvCache, pos0: number, n: number): Promise<Float32Array> {
    const runs = this.kv(cache).runs(pos0, n);
    return this.readBack(runs.length * runs[0]!.bytes, (staging) => runs.forEach((r, i) => this.rec.copy(r.plane, r.offset, staging, i * r.bytes, r.bytes)));
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
    const c = this.kv(cache);
    // A typed cache holds what its type stores: round the floats as storeKv would (exact values pass unchanged).
    const data = kvTypeOf(c.layout) === "f32" ? floats : kvBytesToFloats(c.layout, kvFloatsToBytes(c.layout, floats));
    if (data.length !== n * kvFloatsPerPosition(c.layout)) throw new RangeError(`writeKv: expected ${n * kvFloatsPerPosition(c.layout)} floats, got ${data.length}`);
    const runs = c.runs(pos0, n);
    this.rec.flush(); // queue writes land before later submissions, so recorded work goes first
    runs.forEach((r, i) => this.device.queue.writeBuffer(r.plane, r.offset, data.buffer, data.byteOffset + i * r.bytes, r.bytes));
  }

  memory(): BackendMemory {
    let kvBytes = 0;
    for (const c of this.caches) kvBytes += c.bytes;
    return { weightsBytes: this.weightsBytes, kvBytes, scratchBytes: Math.max(0, this.pool.bytes - kvBytes) };
  }

  /** Records `groups` workgroups of a no-op kernel (benchmark baseline for dispatch overhead). */
  noop(target: Buffer, groups: number): void {
    this.run("noop", [this.buf(target).gpu], { a: [0] }, groups);
  }

  /** Submits what is recorded and waits until the GPU has finished it. */
  async finish(): Promise<void> {
    this.rec.flush();
    await this.watch.guard(() => this.device.queue.onSubmittedWorkDone());
  }

  /** Destroys the device: every buffer is gone and later reads throw WebGpuDeviceLostError. */
  destroy(): void {
    this.device.destroy();
  }

  private run(name: KernelName, buffers: GPUBuffer[], p: DispatchParams, groups: number): void {
    this.rec.dispatch(this.kernels.get(name), buffers, p, groups);
  }

  /**
   * Runs `body` writing into `out`, or into a temporary copied to `out` afterwards when `out` is also an input (a
   * buffer may not be bound writable and readable in one dispatch). `accumulate`: the temporary starts as `out`.
   */
  private intoTarget(out: GpuBuffer, inputs: readonly GpuBuffer[], body: (target: GPUBuffer) => void, accumulate = false): void {
    if (!inputs.includes(out)) {
      body(out.gpu);
    } else {
      const tmp = this.pool.take(out.gpu.size);
      if (accumulate) this.rec.copy(out.gpu, 0, tmp, 0, out.gpu.size);
      body(tmp);
      this.rec.copy(tmp, 0, out.gpu, 0, out.gpu.size);
      this.pool.give(tmp);
    }
    out.version++;
  }

  /** Records copies into a mappable buffer (`record`), submits everything and returns those bytes as floats. */
  private async readBack(bytes: number, record: (staging: GPUBuffer) => void): Promise<Float32Array> {
    return this.watch.guard(async () => {
      const staging = this.pool.takeStaging(bytes);
      record(staging);
      this.rec.flush();
      const MAP_READ = 1;
      await staging.mapAsync(MAP_READ, 0, Math.ceil(bytes / 4) * 4);
      const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      this.pool.give(staging);
      return out;
    });
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
