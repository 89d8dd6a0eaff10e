/// <reference types="@webgpu/types" />
// GPU buffers of the webgpu backend: the handle types, a size-keyed pool, and weight upload split to the device limits.
import type { Buffer, KvCache, KvLayout, Matrix, Vector } from "../backend";

const MAP_READ = 1;
const COPY_SRC = 4;
const COPY_DST = 8;
const STORAGE = 128;
export const STORAGE_USAGE = STORAGE | COPY_SRC | COPY_DST;

/** Byte size of a buffer holding n float32 (at least 16, a multiple of 16). */
export const floatBytes = (n: number) => Math.max(16, Math.ceil((n * 4) / 16) * 16);

export class GpuBuffer implements Buffer {
  released = false;
  /** Bumped by every write, so a cached quantization of this buffer's contents knows it is stale. */
  version = 0;
  /** Q8_0/Q8_1 (block 32) or Q8_K (block 256) quantization of the contents (matmul input), tagged with its version. */
  quantized: { xq: GPUBuffer; xds: GPUBuffer; version: number; elements: number; block: number } | null = null;
  constructor(readonly owner: object, readonly gpu: GPUBuffer, readonly length: number) {}
}

export class GpuVector implements Vector {
  constructor(readonly owner: object, readonly name: string, readonly gpu: GPUBuffer, readonly length: number) {}
}

/** Rows [r0, r0 + rows) of a matrix, in a buffer of their own (starting at byte 0). */
export interface MatrixChunk {
  readonly gpu: GPUBuffer;
  readonly r0: number;
  readonly rows: number;
}

export class GpuMatrix implements Matrix {
  constructor(
    readonly owner: object,
    readonly name: string,
    readonly type: number,
    readonly rows: number,
    readonly cols: number,
    readonly chunks: readonly MatrixChunk[],
  ) {}
}

export class GpuKvCache implements KvCache {
  released = false;
  readonly kvDim: number;
  constructor(readonly owner: object, readonly layout: KvLayout, readonly k: readonly GPUBuffer[], readonly v: readonly GPUBuffer[]) {
    this.kvDim = layout.nKvHeads * layout.headDim;
  }
  get bytes(): number {
    return this.layout.nLayers * 2 * this.layout.nCtx * this.kvDim * 4;
  }
  /** The byte runs of positions [pos0, pos0 + n) in readKv/writeKv order: each layer's K plane, then its V plane. */
  runs(pos0: number, n: number): { plane: GPUBuffer; offset: number; bytes: number }[] {
    if (pos0 < 0 || n < 1 || pos0 + n > this.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + n} exceed the context of ${this.layout.nCtx}`);
    const at = (plane: GPUBuffer) => ({ plane, offset: pos0 * this.kvDim * 4, bytes: n * this.kvDim * 4 });
    return this.k.flatMap((k, l) => [at(k), at(this.v[l]!)]);
  }
}

/** Reuses released buffers of the same size and usage instead of creating new ones. */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  /** Bytes of every buffer the pool created and still holds or lent out. */
  bytes = 0;
  constructor(private readonly device: GPUDevice, private readonly maxBinding: number) {}

  take(size: number, usage = STORAGE_USAGE): GPUBuffer {
    if (usage === STORAGE_USAGE && size > this.maxBinding) {
      throw new RangeError(`webgpu: a ${size}-byte buffer exceeds the device's storage binding limit of ${this.maxBinding} bytes`);
    }
    const b = this.free.get(`${usage}/${size}`)?.pop();
    if (b) return b;
    this.bytes += size;
    return this.device.createBuffer({ size, usage });
  }

  give(b: GPUBuffer): void {
    const key = `${b.usage}/${b.size}`;
    const list = this.free.get(key);
    if (list) list.push(b);
    else this.free.set(key, [b]);
  }

  /** A mappable buffer for reading results back. */
  takeStaging(size: number): GPUBuffer {
    return this.take(Math.ceil(size / 256) * 256, MAP_READ | COPY_DST);
  }
}

/** Uploads `bytes` (rows of equal size) once, in as few buffers as the device's buffer and binding limits allow. */
export function uploadRows(device: GPUDevice, label: string, bytes: Uint8Array, rows: number, maxBytes: number): MatrixChunk[] {
  const rowBytes = rows === 0 ? 0 : bytes.byteLength / rows;
  // A row may start at an odd half-word (rows of 34-, 18-, 22-, 110- or 210-byte blocks), so chunks hold whole rows
  // plus 4 bytes of slack.
  const rowsPerChunk = Math.floor((maxBytes - 4) / rowBytes);
  if (rowsPerChunk < 1) throw new RangeError(`webgpu: ${label}: one row of ${rowBytes} bytes exceeds the device's ${maxBytes}-byte buffer limit`);
  const chunks: MatrixChunk[] = [];
  for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - r0);
    const size = Math.ceil((n * rowBytes) / 4) * 4 + 4;
    const gpu = device.createBuffer({ label: `${label}[${r0}]`, size, usage: STORAGE_USAGE, mappedAtCreation: true });
    new Uint8Array(gpu.getMappedRange()).set(bytes.subarray(r0 * rowBytes, (r0 + n) * rowBytes));
    gpu.unmap();
    chunks.push({ gpu, r0, rows: n });
  }
  return chunks;
}

/** `b` as this backend's live GPU buffer; a handle of another backend, or one used after release, is a clear error. */
export function ownBuffer(owner: object, b: Buffer): GpuBuffer {
  if (!(b instanceof GpuBuffer) || b.owner !== owner) throw new Error("webgpu backend: buffer belongs to another backend");
  if (b.released) throw new Error("webgpu backend: buffer used after release");
  return b;
}

export function ownMatrix(owner: object, m: Matrix): GpuMatrix {
  if (!(m instanceof GpuMatrix) || m.owner !== owner) throw new Error("webgpu backend: matrix belongs to another backend");
  return m;
}

export function ownKvCache(owner: object, c: KvCache): GpuKvCache {
  if (!(c instanceof GpuKvCache) || c.owner !== owner) throw new Error("webgpu backend: KV cache belongs to another backend");
  if (c.released) throw new Error("webgpu backend: KV cache used after release");
  return c;
}

export function ownVector(owner: object, v: Vector): GpuVector {
  if (!(v instanceof GpuVector) || v.owner !== owner) throw new Error("webgpu backend: vector belongs to another backend");
  return v;
}
