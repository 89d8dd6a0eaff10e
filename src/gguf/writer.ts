// GGUF v3 writer laid out as llama.cpp's own (tensor data aligned, zero padding), plus constructors for typed values.
import { GgufError } from "./errors";
import { GGML_TYPES, ggmlTypeName } from "./ggml-types";
import { GgufValueType, type GgufArray, type GgufValue } from "./types";

export interface GgufTensorSpec {
  name: string;
  dims: readonly number[];
  type: number;
  data: Uint8Array;
}

export interface GgufWriteSpec {
  metadata: Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorSpec[];
  alignment?: number;
}

const encoder = new TextEncoder();

/** Growable little-endian byte sink. */
class Sink {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  n = 0;
  reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.reserve(1); this.view.setUint8(this.n, v); this.n += 1; }
  i8(v: number) { this.reserve(1); this.view.setInt8(this.n, v); this.n += 1; }
  u16(v: number) { this.reserve(2); this.view.setUint16(this.n, v, true); this.n += 2; }
  i16(v: number) { this.reserve(2); this.view.setInt16(this.n, v, true); this.n += 2; }
  u32(v: number) { this.reserve(4); this.view.setUint32(this.n, v, true); this.n += 4; }
  i32(v: number) { this.reserve(4); this.view.setInt32(this.n, v, true); this.n += 4; }
  f32(v: number) { this.reserve(4); this.view.setFloat32(this.n, v, true); this.n += 4; }
  f64(v: number) { this.reserve(8); this.view.setFloat64(this.n, v, true); this.n += 8; }
  u64(v: bigint) { this.reserve(8); this.view.setBigUint64(this.n, v, true); this.n += 8; }
  i64(v: bigint) { this.reserve(8); this.view.setBigInt64(this.n, v, true); this.n += 8; }
  bytes(b: Uint8Array) { this.reserve(b.length); this.buf.set(b, this.n); this.n += b.length; }
  string(s: string) { const b = encoder.encode(s); this.u64(BigInt(b.length)); this.bytes(b); }
  pad(alignment: number) { const k = (alignment - (this.n % alignment)) % alignment; this.reserve(k); this.buf.fill(0, this.n, this.n + k); this.n += k; }
}

type Plain = number | bigint | boolean | string | GgufArray;

function writeScalar(s: Sink, type: GgufValueType, v: Plain, key: string): void {
  const bad = () => new GgufError(`metadata ${key}: value ${String(v)} does not fit type ${GgufValueType[type]}`);
  switch (type) {
    case GgufValueType.UINT8: return s.u8(v as number);
    case GgufValueType.INT8: return s.i8(v as number);
    case GgufValueType.UINT16: return s.u16(v as number);
    case GgufValueType.INT16: return s.i16(v as number);
    case GgufValueType.UINT32: return s.u32(v as number);
    case GgufValueType.INT32: return s.i32(v as number);
    case GgufValueType.FLOAT32: return s.f32(v as number);
    case GgufValueType.FLOAT64: return s.f64(v as number);
    case GgufValueType.UINT64: if (typeof v !== "bigint") throw bad(); return s.u64(v);
    case GgufValueType.INT64: if (typeof v !== "bigint") throw bad(); return s.i64(v);
    case GgufValueType.BOOL: return s.u8(v ? 1 : 0);
    case GgufValueType.STRING: if (typeof v !== "string") throw bad(); return s.string(v);
    case GgufValueType.ARRAY: {
      const a = v as GgufArray;
      s.u32(a.elementType);
      s.u64(BigInt(a.items.length));
      for (const item of a.items) writeScalar(s, a.elementType, item, key);
      return;
    }
    default: throw new GgufError(`metadata ${key}: unknown value type ${type}`);
  }
}

/** Serialises a model as GGUF v3; checks every tensor's data length against its dims and type. */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const metadata = [...spec.metadata];
  const align = metadata.find(([k]) => k === "general.alignment")?.[1];
  const alignment = spec.alignment ?? (align?.type === GgufValueType.UINT32 ? align.value : 32);
  if (align && align.value !== alignment) throw new GgufError(`general.alignment (${String(align.value)}) disagrees with the requested alignment ${alignment}`);
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new GgufError(`alignment must be a power of two, got ${alignment}`);

  const s = new Sink();
  s.u32(0x46554747);
  s.u32(3);
  s.u64(BigInt(spec.tensors.length));
  s.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    s.string(key);
    s.u32(value.type);
    writeScalar(s, value.type, value.value, key);
  }

  const offsets: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    const info = GGML_TYPES.get(t.type);
    if (!info) throw new GgufError(`tensor ${t.name}: unknown tensor type ${t.type}`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.dims.length < 1 || t.dims.length > 4 || t.dims[0]! % info.blockSize !== 0) {
      throw new GgufError(`tensor ${t.name}: dims [${t.dims.join(", ")}] do not suit ${ggmlTypeName(t.type)}`);
    }
    const nBytes = (n / info.blockSize) * info.typeSize;
    if (t.data.byteLength !== nBytes) throw new GgufError(`tensor ${t.name}: ${t.data.byteLength} bytes of data, ${nBytes} expected for [${t.dims.join(", ")}] ${ggmlTypeName(t.type)}`);
    s.string(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(BigInt(d));
    s.u32(t.type);
    s.u64(BigInt(offset));
    offsets.push(offset);
    offset += Math.ceil(nBytes / alignment) * alignment;
  }
  s.pad(alignment);
  // The header is small; the data section is sized exactly up front so large models are written with one
  // allocation (no doubling buffer, no final copy).
  const out = new Uint8Array(s.n + offset);
  out.set(s.buf.subarray(0, s.n));
  spec.tensors.forEach((t, i) => out.set(t.data, s.n + offsets[i]!));
  return out;
}

/** Typed value constructors for building metadata. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  u64: (value: bigint): GgufValue => ({ type: GgufValueType.UINT64, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  arr: (elementType: GgufValueType, items: GgufArray["items"]): GgufValue => ({ type: GgufValueType.ARRAY, value: { elementType, items } }),
};
