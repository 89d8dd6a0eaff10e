// The reference backend's handles (buffers, vectors, matrices, KV caches as plain typed arrays) and the checks that a handle is one of them.
import { GgmlType } from "../../gguf/ggml-types";
import type { Buffer, KvCache, KvLayout, Matrix, Vector } from "../backend";
import { checkKvLayout, decodeKv, kvRowBytes, kvTypeOf, type KvType } from "../kv-format";

export class RefBuffer implements Buffer {
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

export class RefVector implements Vector {
  constructor(readonly name: string, readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

/** Keeps the stored bytes; F32 matrices are also kept as a Float32Array (the file's bytes may be unaligned). */
export class RefMatrix implements Matrix {
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

/** A matrix handle for `bytes`: F32 data is copied into an aligned Float32Array, other types keep the bytes. */
export function refMatrix(name: string, type: number, rows: number, cols: number, bytes: Uint8Array): RefMatrix {
  if (type !== GgmlType.F32) return new RefMatrix(name, type, rows, cols, bytes, null);
  const f32 = new Float32Array(rows * cols);
  new Uint8Array(f32.buffer).set(bytes.subarray(0, rows * cols * 4));
  return new RefMatrix(name, type, rows, cols, new Uint8Array(0), f32);
}

export class RefKvCache implements KvCache {
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

export function buf(b: Buffer): Float32Array {
  if (!(b instanceof RefBuffer)) throw new Error("ref backend: buffer belongs to another backend");
  return b.data;
}
export function mat(m: Matrix): RefMatrix {
  if (!(m instanceof RefMatrix)) throw new Error("ref backend: matrix belongs to another backend");
  return m;
}
export function vec(v: Vector): RefVector {
  if (!(v instanceof RefVector)) throw new Error("ref backend: vector belongs to another backend");
  return v;
}
export function kv(c: KvCache): RefKvCache {
  if (!(c instanceof RefKvCache)) throw new Error("ref backend: KV cache belongs to another backend");
  return c;
}
