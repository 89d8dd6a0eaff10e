// Runs on a GPU backend and, when its device is lost, moves every weight, buffer and KV cache to a fallback backend
// (wasm): the handles the engine holds stay valid, and LlamaContext rebuilds the lost KV contents from its token log.
import type { AttentionShape, Backend, BackendMemory, Buffer, KvCache, KvLayout, Matrix, RopeParams, Vector } from "../backend";
import { WebGpuDeviceLostError } from "./device-watch";
import type { WebGpuBackend } from "./webgpu-backend";

class FMatrix implements Matrix {
  constructor(
    readonly name: string,
    readonly type: number,
    readonly rows: number,
    readonly cols: number,
    /** The stored bytes, kept to upload again after a failover (a view of the model file, or the range read of it). */
    readonly bytes: Uint8Array,
    public inner: Matrix,
  ) {}
}
class FVector implements Vector {
  constructor(readonly name: string, readonly data: Float32Array, public inner: Vector) {}
  get length(): number {
    return this.data.length;
  }
}
class FBuffer implements Buffer {
  constructor(readonly length: number, public inner: Buffer) {}
}
class FKvCache implements KvCache {
  constructor(readonly layout: KvLayout, public inner: KvCache) {}
}

type Warn = (message: string) => void;

export class FailoverBackend implements Backend {
  private current: Backend;
  /** Bumped by a failover: every KV cache then holds zeros and its context recomputes it. */
  generation = 0;
  private readonly matrices: FMatrix[] = [];
  private readonly vectors: FVector[] = [];
  private readonly buffers = new Set<FBuffer>();
  private readonly caches = new Set<FKvCache>();

  constructor(
    private readonly gpu: WebGpuBackend,
    private readonly makeFallback: () => Backend,
    private readonly warn: Warn = (m) => console.warn(m),
  ) {
    this.current = gpu;
  }

  /** The backend running now: "webgpu", or the fallback's name after a failover. */
  get name(): string {
    return this.current.name;
  }

  get active(): Backend {
    return this.current;
  }

  async recover(error: unknown): Promise<boolean> {
    if (this.current !== this.gpu || !(error instanceof WebGpuDeviceLostError || this.gpu.isLost)) return false;
    const next = this.makeFallback();
    this.warn(`${error instanceof Error ? error.message : String(error)}; continuing on the ${next.name} backend`);
    for (const m of this.matrices) m.inner = next.loadMatrix(m.name, m.type, m.rows, m.cols, m.bytes);
    for (const v of this.vectors) v.inner = next.loadVector(v.name, v.data);
    for (const b of this.buffers) b.inner = next.createBuffer(b.length);
    for (const c of this.caches) c.inner = next.createKvCache(c.layout);
    this.current = next;
    this.generation++;
    return true;
  }

  supportsWeightType(type: number): boolean {
    return this.current.supportsWeightType(type);
  }
  loadMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): Matrix {
    const m = new FMatrix(name, type, rows, cols, bytes, this.current.loadMatrix(name, type, rows, cols, bytes));
    this.matrices.push(m);
    return m;
  }
  loadVector(name: string, data: Float32Array): Vector {
    const v = new FVector(name, Float32Array.from(data), this.current.loadVector(name, data));
    this.vectors.push(v);
    return v;
  }
  createBuffer(length: number): Buffer {
    const b = new FBuffer(length, this.current.createBuffer(length));
    this.buffers.add(b);
    return b;
  }
  createKvCache(layout: KvLayout): KvCache {
    const c = new FKvCache(layout, this.current.createKvCache(layout));
    this.caches.add(c);
    return c;
  }
  release(handle: Buffer | KvCache): void {
    if (handle instanceof FBuffer) this.buffers.delete(handle);
    else if (handle instanceof FKvCache) this.caches.delete(handle);
    this.current.release(this.any(handle));
  }

  write(dst: Buffer, data: Float32Array, dstOffset?: number): void {
    this.current.write(this.b(dst), data, dstOffset);
  }
  read(src: Buffer, srcOffset: number, n: number): Float32Array {
    return this.current.read(this.b(src), srcOffset, n);
  }
  async readAsync(src: Buffer, srcOffset: number, n: number): Promise<Float32Array> {
    const c = this.current;
    return c.readAsync ? c.readAsync(this.b(src), srcOffset, n) : c.read(this.b(src), srcOffset, n);
  }
  copy(dst: Buffer, dstOffset: number, src: Buffer, srcOffset: number, n: number): void {
    this.current.copy(this.b(dst), dstOffset, this.b(src), srcOffset, n);
  }
  embed(out: Buffer, table: Matrix, tokens: readonly number[]): void {
    this.current.embed(this.b(out), this.m(table), tokens);
  }
  rmsnorm(out: Buffer, x: Buffer, weight: Vector, nTokens: number, eps: number): void {
    this.current.rmsnorm(this.b(out), this.b(x), this.v(weight), nTokens, eps);
  }
  addBias(x: Buffer, bias: Vector, nTokens: number): void {
    this.current.addBias(this.b(x), this.v(bias), nTokens);
  }
  matmul(out: Buffer, w: Matrix, x: Buffer, nTokens: number): void {
    this.current.matmul(this.b(out), this.m(w), this.b(x), nTokens);
  }
  rope(x: Buffer, nTokens: number, pos0: number, params: RopeParams): void {
    this.current.rope(this.b(x), nTokens, pos0, params);
  }
  storeKv(cache: KvCache, layer: number, pos0: number, nTokens: number, k: Buffer, v: Buffer): void {
    this.current.storeKv(this.kv(cache), layer, pos0, nTokens, this.b(k), this.b(v));
  }
  attention(out: Buffer, q: Buffer, cache: KvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
    this.current.attention(this.b(out), this.b(q), this.kv(cache), layer, pos0, nTokens, shape);
  }
  softmax(x: Buffer, rows: number, len: number): void {
    this.current.softmax(this.b(x), rows, len);
  }
  swiglu(out: Buffer, gate: Buffer, up: Buffer, n: number): void {
    this.current.swiglu(this.b(out), this.b(gate), this.b(up), n);
  }
  add(out: Buffer, a: Buffer, b: Buffer, n: number): void {
    this.current.add(this.b(out), this.b(a), this.b(b), n);
  }
  readKv(cache: KvCache, pos0: number, n: number): Float32Array {
    return this.current.readKv(this.kv(cache), pos0, n);
  }
  async readKvAsync(cache: KvCache, pos0: number, n: number): Promise<Float32Array> {
    const c = this.current;
    return c.readKvAsync ? c.readKvAsync(this.kv(cache), pos0, n) : c.readKv(this.kv(cache), pos0, n);
  }
  readKvBytes(cache: KvCache, pos0: number, n: number): Uint8Array {
    return this.current.readKvBytes(this.kv(cache), pos0, n);
  }
  async readKvBytesAsync(cache: KvCache, pos0: number, n: number): Promise<Uint8Array> {
    const c = this.current;
    return c.readKvBytesAsync ? c.readKvBytesAsync(this.kv(cache), pos0, n) : c.readKvBytes(this.kv(cache), pos0, n);
  }
  writeKvBytes(cache: KvCache, pos0: number, n: number, data: Uint8Array): void {
    this.current.writeKvBytes(this.kv(cache), pos0, n, data);
  }
  writeKv(cache: KvCache, pos0: number, n: number, data: Float32Array): void {
    this.current.writeKv(this.kv(cache), pos0, n, data);
  }
  /** The current backend's memory, plus the weight bytes kept in JS for a failover (counted as scratch: the isolate holds them). */
  memory(): BackendMemory {
    const m = this.current.memory();
    let kept = 0;
    for (const x of this.matrices) kept += x.bytes.byteLength;
    for (const v of this.vectors) kept += v.data.byteLength;
    return { ...m, scratchBytes: m.scratchBytes + kept };
  }

  private b(x: Buffer): Buffer {
    if (!(x instanceof FBuffer)) throw new Error("failover backend: buffer belongs to another backend");
    return x.inner;
  }
  private m(x: Matrix): Matrix {
    if (!(x instanceof FMatrix)) throw new Error("failover backend: matrix belongs to another backend");
    return x.inner;
  }
  private v(x: Vector): Vector {
    if (!(x instanceof FVector)) throw new Error("failover backend: vector belongs to another backend");
    return x.inner;
  }
  private kv(x: KvCache): KvCache {
    if (!(x instanceof FKvCache)) throw new Error("failover backend: KV cache belongs to another backend");
    return x.inner;
  }
  private any(x: Buffer | KvCache): Buffer | KvCache {
    return x instanceof FKvCache ? x.inner : this.b(x as Buffer);
  }
}
