// GGUF v3 writer laid out byte for byte as llama.cpp's gguf_write_to_buf, validating every value, dim and data length.
import { GgufError, quoteName } from "./errors";
import { GGML_TYPES, ggmlTypeName } from "./ggml-types";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, alignUp, isPowerOfTwo } from "./reader";
import { GgufValueType, type GgufArray, type GgufValue } from "./types";
import { checkValue, gguf, valueTypeName } from "./values";

export { gguf } from "./values";

export interface GgufTensorSpec {
  name: string;
  /** GGUF `ne`: dims[0] is the contiguous (row) length. */
  dims: readonly number[];
  /** A GgmlType id. */
  type: number;
  /** Exactly the bytes the dims and type call for. */
  data: Uint8Array;
}

export interface GgufWriteSpec {
  /** Written in iteration order (a GgufFile's `metadata` map can be passed as is). */
  metadata: Iterable<readonly [string, GgufValue]>;
  /** Written in this order; each tensor's data starts at the next multiple of the alignment. */
  tensors: readonly GgufTensorSpec[];
  /**
   * Default: general.alignment from the metadata, else 32. When it is not 32 and the metadata lacks general.alignment,
   * the key is appended (u32), since a reader could not otherwise find the data section.
   */
  alignment?: number;
}

const GGUF_VERSION = 3;
const MAX_DIMS = 4;
// llama.cpp's reader refuses tensor names of GGML_MAX_NAME (64) bytes or more, NUL included.
const GGML_MAX_NAME = 64;
const encoder = new TextEncoder();

/** Growable little-endian byte sink for the header (metadata and tensor infos); tensor data is placed separately. */
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
  string(s: string) { this.stringBytes(encoder.encode(s)); }
  stringBytes(b: Uint8Array) { this.u64(BigInt(b.length)); this.bytes(b); }
  pad(alignment: number) { const k = alignUp(this.n, alignment) - this.n; this.reserve(k); this.buf.fill(0, this.n, this.n + k); this.n += k; }
}

/** Writes one value of `type` (already known to be a valid type), checking it fits first. */
function writeValue(s: Sink, type: GgufValueType, v: GgufArray["items"][number], key: string, depth: number): void {
  checkValue(type, v, key);
  switch (type) {
    case GgufValueType.UINT8: return s.u8(v as number);
    case GgufValueType.INT8: return s.i8(v as number);
    case GgufValueType.UINT16: return s.u16(v as number);
    case GgufValueType.INT16: return s.i16(v as number);
    case GgufValueType.UINT32: return s.u32(v as number);
    case GgufValueType.INT32: return s.i32(v as number);
    case GgufValueType.FLOAT32: return s.f32(v as number);
    case GgufValueType.FLOAT64: return s.f64(v as number);
    case GgufValueType.UINT64: return s.u64(v as bigint);
    case GgufValueType.INT64: return s.i64(v as bigint);
    case GgufValueType.BOOL: return s.u8(v ? 1 : 0);
    case GgufValueType.STRING: return s.string(v as string);
    case GgufValueType.ARRAY: {
      // Same bound as the reader, so everything written can be read back.
      if (depth >= 8) throw new GgufError(`metadata ${quoteName(key)}: arrays nested deeper than 8`);
      const a = v as GgufArray;
      s.u32(a.elementType);
      s.u64(BigInt(a.items.length));
      for (const item of a.items) writeValue(s, a.elementType, item, key, depth + 1);
      return;
    }
  }
}

/** The alignment to use: the option, else general.alignment, else 32; both present must agree. */
function resolveAlignment(metadata: [string, GgufValue][], requested: number | undefined): number {
  const kv = metadata.find(([k]) => k === "general.alignment")?.[1];
  if (kv && (kv.type !== GgufValueType.UINT32 || !isPowerOfTwo(kv.value))) {
    throw new GgufError(`metadata "general.alignment" must be a UINT32 power of two, got ${valueTypeName(kv.type)} ${String(kv.value)}`);
  }
  const alignment = requested ?? kv?.value ?? GGUF_DEFAULT_ALIGNMENT;
  if (!isPowerOfTwo(alignment)) throw new GgufError(`alignment must be a power of two (at most 2^31), got ${alignment}`);
  if (kv && kv.value !== alignment) throw new GgufError(`metadata "general.alignment" (${kv.value}) disagrees with the requested alignment ${alignment}`);
  if (!kv && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.push(["general.alignment", gguf.u32(alignment)]);
  return alignment;
}

/** Checks one tensor spec and returns its encoded name and data size. */
function checkTensor(t: GgufTensorSpec): { name: Uint8Array; nBytes: number } {
  const what = `tensor ${quoteName(String(t.name))}`;
  if (typeof t.name !== "string") throw new GgufError(`${what}: name must be a string`);
  const name = encoder.encode(t.name);
  if (name.length >= GGML_MAX_NAME) throw new GgufError(`${what}: name is ${name.length} bytes; llama.cpp allows at most ${GGML_MAX_NAME - 1}`);
  const info = GGML_TYPES.get(t.type);
  if (!info) throw new GgufError(`${what}: unknown tensor type ${t.type}`);
  if (!Array.isArray(t.dims) || t.dims.length < 1 || t.dims.length > MAX_DIMS) {
    throw new GgufError(`${what}: needs 1..${MAX_DIMS} dims, got [${String(t.dims)}]`);
  }
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 1) throw new GgufError(`${what}: dims [${t.dims.join(", ")}] must be positive integers`);
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw new GgufError(`${what}: element count of dims [${t.dims.join(", ")}] overflows`);
  }
  if (t.dims[0]! % info.blockSize !== 0) {
    throw new GgufError(`${what}: row length ${t.dims[0]} is not a multiple of the ${ggmlTypeName(t.type)} block size ${info.blockSize}`);
  }
  const nBytes = (n / info.blockSize) * info.typeSize;
  if (!(t.data instanceof Uint8Array)) throw new GgufError(`${what}: data must be a Uint8Array`);
  if (t.data.byteLength !== nBytes) {
    throw new GgufError(`${what}: ${t.data.byteLength} bytes of data, ${nBytes} expected for [${t.dims.join(", ")}] ${ggmlTypeName(t.type)}`);
  }
  return { name, nBytes };
}

/**
 * Serialises a model as GGUF v3 in llama.cpp's layout: header, metadata, tensor infos, zero padding to the alignment,
 * then each tensor's data followed by zero padding to the alignment (the last one included).
 */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const metadata = [...spec.metadata].map(([k, v]) => [k, v] as [string, GgufValue]);
  const seen = new Set<string>();
  for (const [key, value] of metadata) {
    if (typeof key !== "string") throw new GgufError(`metadata key ${String(key)} is not a string`);
    if (seen.has(key)) throw new GgufError(`duplicate metadata key ${quoteName(key)}`);
    seen.add(key);
    if (typeof value !== "object" || value === null) throw new GgufError(`metadata ${quoteName(key)}: value must be { type, value }`);
  }
  const alignment = resolveAlignment(metadata, spec.alignment);

  const s = new Sink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(BigInt(spec.tensors.length));
  s.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    s.string(key);
    s.u32(value.type);
    writeValue(s, value.type, value.value, key, 0);
  }

  const names = new Set<string>();
  const offsets: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    const { name, nBytes } = checkTensor(t);
    if (names.has(t.name)) throw new GgufError(`duplicate tensor name ${quoteName(t.name)}`);
    names.add(t.name);
    s.stringBytes(name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(BigInt(d));
    s.u32(t.type);
    s.u64(BigInt(offset));
    offsets.push(offset);
    offset += alignUp(nBytes, alignment);
  }
  s.pad(alignment);
  // The header is small; the data section is sized exactly up front so large models are written with one
  // allocation (no doubling buffer, no final copy). A fresh Uint8Array is zero-filled, so padding needs no writes.
  const out = new Uint8Array(s.n + offset);
  out.set(s.buf.subarray(0, s.n));
  spec.tensors.forEach((t, i) => out.set(t.data, s.n + offsets[i]!));
  return out;
}
