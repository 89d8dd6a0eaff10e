// GGUF v2/v3 reader over an in-memory file: metadata, tensor infos and zero-copy tensor views, with every input checked.
import { ByteReader } from "./byte-reader";
import { GgufError, quoteName } from "./errors";
import { GGML_TYPES, ggmlTypeName } from "./ggml-types";
import { GgufValueType, type GgufArray, type GgufTensorInfo, type GgufValue } from "./types";
import { VALUE_MIN_BYTES, valueTypeName } from "./values";

export interface GgufFile {
  readonly version: number;
  /** general.alignment, or 32 when absent. */
  readonly alignment: number;
  /** Metadata in file order. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** Tensor infos in file order (quantizers reorder tensors: look them up by name). */
  readonly tensors: readonly GgufTensorInfo[];
  readonly tensorByName: ReadonlyMap<string, GgufTensorInfo>;
  /** Absolute byte offset of the tensor data section. */
  readonly dataOffset: number;
  /** The whole file (readGguf), or the prefix holding the header (readGgufHeader: tensorData refuses what lies past it). */
  readonly bytes: Uint8Array;
}

/** Caps on counts and lengths; exceeding one is an "absurd count" GgufError. Counts are also checked against the bytes left. */
export interface ReadGgufOptions {
  /** Elements in one metadata array (default 16 Mi; the largest real vocabularies are ~256 Ki). */
  maxArrayLength?: number;
  /** Tensor infos (default 64 Ki; real models have at most a few thousand). */
  maxTensors?: number;
  /** Metadata entries (default 64 Ki). */
  maxMetadataEntries?: number;
  /** Bytes in one string: key, value, array item or tensor name (default 16 MiB). */
  maxStringLength?: number;
}

const DEFAULTS: Required<ReadGgufOptions> = {
  maxArrayLength: 1 << 24,
  maxTensors: 1 << 16,
  maxMetadataEntries: 1 << 16,
  maxStringLength: 1 << 24,
};

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_DEPTH = 8; // llama.cpp allows no nesting at all; a small bound keeps the recursion shallow
// Smallest possible encodings: a kv is key length (8) + type (4) + a 1-byte value; a tensor info is name length (8)
// + n_dims (4) + one dim (8) + type (4) + offset (8). Used to reject counts the remaining bytes cannot hold.
const MIN_KV_BYTES = 13;
const MIN_TENSOR_INFO_BYTES = 32;

/** A power of two that fits a u32 (bitwise tests are only exact up to 2^31). */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 && (n & (n - 1)) === 0;
}

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

type Item = GgufArray["items"][number];
// ignoreBOM: a token that is exactly U+FEFF must survive (the default decoder strips a leading BOM).
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

class Parser {
  readonly r: ByteReader;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    fileSize: number,
    readonly opts: Required<ReadGgufOptions>,
  ) {
    this.r = new ByteReader(bytes, fileSize);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A u64 count; above `cap` it is an absurd count (checked before anything is allocated). */
  count(what: string, cap: number, option: keyof ReadGgufOptions): number {
    const at = this.r.offset;
    const v = this.r.u64(what);
    if (v > BigInt(cap)) throw new GgufError(`absurd count: ${what} is ${v}, above the limit of ${cap} (ReadGgufOptions.${option})`, at);
    return Number(v);
  }

  /** A u64 size or offset that must be exactly representable as a JS number. */
  safeU64(what: string): number {
    const at = this.r.offset;
    const v = this.r.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${what} is ${v}, too large`, at);
    return Number(v);
  }

  valueType(what: string): GgufValueType {
    const at = this.r.offset;
    const t = this.r.u32(`${what} type`);
    if (t > GgufValueType.FLOAT64) throw new GgufError(`${what}: unknown value type ${t}`, at);
    return t as GgufValueType;
  }

  /**
   * A GGUF string: u64 byte length (read as two u32 halves: no bigint per string, which matters for 32000-token
   * vocabularies), checked against the bytes left before anything is decoded. Invalid UTF-8 becomes U+FFFD.
   */
  string(what: string): string {
    const { view, bytes, r } = this;
    const at = r.offset;
    r.need(8, `${what} length`);
    const lo = view.getUint32(at, true);
    const hi = view.getUint32(at + 4, true);
    const start = at + 8;
    if (hi !== 0 || lo > r.fileSize - start) {
      throw new GgufError(`${what}: string length ${BigInt(hi) * 2n ** 32n + BigInt(lo)} runs past the end of the file`, at);
    }
    if (lo > this.opts.maxStringLength) {
      throw new GgufError(`absurd count: ${what} string length is ${lo}, above the limit of ${this.opts.maxStringLength} (ReadGgufOptions.maxStringLength)`, at);
    }
    r.offset = start;
    r.need(lo, what); // inside the file, but maybe past a header prefix
    r.offset = start + lo;
    return utf8.decode(bytes.subarray(start, start + lo));
  }

  scalar(type: GgufValueType, what: string, depth: number): Item {
    const r = this.r;
    switch (type) {
      case GgufValueType.UINT8: return r.u8(what);
      case GgufValueType.INT8: return r.i8(what);
      case GgufValueType.UINT16: return r.u16(what);
      case GgufValueType.INT16: return r.i16(what);
      case GgufValueType.UINT32: return r.u32(what);
      case GgufValueType.INT32: return r.i32(what);
      case GgufValueType.FLOAT32: return r.f32(what);
      case GgufValueType.FLOAT64: return r.f64(what);
      case GgufValueType.UINT64: return r.u64(what);
      case GgufValueType.INT64: return r.i64(what);
      case GgufValueType.BOOL: {
        const at = r.offset;
        const b = r.u8(what);
        if (b > 1) throw new GgufError(`${what}: invalid bool byte ${b} (must be 0 or 1)`, at);
        return b === 1;
      }
      case GgufValueType.STRING: return this.string(what);
      case GgufValueType.ARRAY: return this.array(what, depth + 1);
    }
  }

  array(what: string, depth: number): GgufArray {
    if (depth > MAX_ARRAY_DEPTH) throw new GgufError(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`, this.r.offset);
    const elementType = this.valueType(`${what} array element`);
    const at = this.r.offset;
    const n = this.count(`${what} array length`, this.opts.maxArrayLength, "maxArrayLength");
    const minBytes = n * VALUE_MIN_BYTES[elementType];
    if (minBytes > this.r.remaining) {
      throw new GgufError(`absurd count: ${what} array of ${n} ${valueTypeName(elementType)} needs at least ${minBytes} bytes but only ${this.r.remaining} remain`, at);
    }
    const items: Item[] = new Array<Item>(n);
    if (elementType === GgufValueType.STRING) this.stringItems(items, what);
    else if (elementType === GgufValueType.ARRAY || elementType === GgufValueType.BOOL) {
      for (let i = 0; i < n; i++) items[i] = this.scalar(elementType, what, depth);
    } else {
      this.r.need(minBytes, `${what} array`); // the exact size here; a header prefix may end before it
      this.numberItems(items, elementType);
    }
    return { elementType, items };
  }

  /** Fixed-size numeric items in one tight loop: the count was checked against the bytes left, so no per-item bounds. */
  private numberItems(items: Item[], type: GgufValueType): void {
    const v = this.view;
    const n = items.length;
    let o = this.r.offset;
    switch (type) {
      case GgufValueType.UINT8: for (let i = 0; i < n; i++, o += 1) items[i] = v.getUint8(o); break;
      case GgufValueType.INT8: for (let i = 0; i < n; i++, o += 1) items[i] = v.getInt8(o); break;
      case GgufValueType.UINT16: for (let i = 0; i < n; i++, o += 2) items[i] = v.getUint16(o, true); break;
      case GgufValueType.INT16: for (let i = 0; i < n; i++, o += 2) items[i] = v.getInt16(o, true); break;
      case GgufValueType.UINT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getUint32(o, true); break;
      case GgufValueType.INT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getInt32(o, true); break;
      case GgufValueType.FLOAT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getFloat32(o, true); break;
      case GgufValueType.FLOAT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getFloat64(o, true); break;
      case GgufValueType.UINT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getBigUint64(o, true); break;
      case GgufValueType.INT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getBigInt64(o, true); break;
      default: throw new GgufError(`unexpected element type ${type}`, this.r.offset); // unreachable: callers route the rest
    }
    this.r.offset = o;
  }

  private stringItems(items: Item[], what: string): void {
    for (let i = 0; i < items.length; i++) items[i] = this.string(`${what}[${i}]`);
  }
}

/** Defaults for unset caps; a cap must be a non-negative integer (Infinity means none). */
function resolveOptions(options: ReadGgufOptions): Required<ReadGgufOptions> {
  const out = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ReadGgufOptions)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0) || (!Number.isInteger(v) && v !== Infinity)) throw new GgufError(`ReadGgufOptions.${key} must be a non-negative integer, got ${String(v)}`);
    out[key] = Math.min(v, Number.MAX_SAFE_INTEGER);
  }
  return out;
}

export function viewOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** Parses a GGUF v2/v3 file; throws GgufError naming the problem and its byte offset for any malformed input. */
export function readGguf(data: ArrayBuffer | Uint8Array, options: ReadGgufOptions = {}): GgufFile {
  // Keep the caller's Uint8Array (no copy) so tensorData views share its buffer; wrap any other view or buffer.
  const bytes = data instanceof Uint8Array ? data : viewOf(data);
  return parseGguf(bytes, bytes.byteLength, options);
}

/** The parser behind readGguf and readGgufHeader: `bytes` is the file or a prefix of it, `fileSize` the whole file's size. */
export function parseGguf(bytes: Uint8Array, fileSize: number, options: ReadGgufOptions): GgufFile {
  const p = new Parser(bytes, fileSize, resolveOptions(options));
  const r = p.r;

  if (fileSize < 4 || r.u32("magic") !== GGUF_MAGIC) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new GgufError(`bad magic: expected "GGUF" (47 47 55 46), got ${got || "an empty file"}`, 0);
  }
  const version = r.u32("version");
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version >>> 8) & 0xff) << 16 | ((version >>> 16) & 0xff) << 8 | (version >>> 24);
    const hint = version === 1 ? " (v1 used 32-bit counts)" : swapped === 2 || swapped === 3 ? " (this looks like a big-endian file; only little-endian is supported)" : "";
    throw new GgufError(`unsupported GGUF version ${version}${hint}; supported: 2, 3`, 4);
  }
  const nTensors = p.count("tensor count", p.opts.maxTensors, "maxTensors");
  const nKv = p.count("metadata entry count", p.opts.maxMetadataEntries, "maxMetadataEntries");
  const minBytes = nKv * MIN_KV_BYTES + nTensors * MIN_TENSOR_INFO_BYTES;
  if (minBytes > r.remaining) {
    throw new GgufError(`absurd count: ${nKv} metadata entries and ${nTensors} tensor infos need at least ${minBytes} bytes but only ${r.remaining} remain`, 8);
  }

  const metadata = new Map<string, GgufValue>();
  let alignmentAt = 0;
  for (let i = 0; i < nKv; i++) {
    const at = r.offset;
    const key = p.string(`metadata key #${i}`);
    if (metadata.has(key)) throw new GgufError(`duplicate metadata key ${quoteName(key)}`, at);
    if (key === "general.alignment") alignmentAt = r.offset;
    const what = `metadata ${quoteName(key)}`;
    const type = p.valueType(what);
    metadata.set(key, { type, value: p.scalar(type, what, 0) } as GgufValue);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const align = metadata.get("general.alignment");
  if (align !== undefined) {
    // llama.cpp reads it with gguf_get_val_u32, which requires exactly that type.
    if (align.type !== GgufValueType.UINT32) throw new GgufError(`metadata "general.alignment" must be a UINT32, found ${valueTypeName(align.type)}`, alignmentAt);
    if (!isPowerOfTwo(align.value)) throw new GgufError(`metadata "general.alignment" must be a non-zero power of two, got ${align.value}`, alignmentAt);
    alignment = align.value;
  }

  const tensors: GgufTensorInfo[] = [];
  const offsetFieldAt: number[] = []; // where each tensor's offset is stored: the "where" of bounds/overlap errors
  const tensorByName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const at = r.offset;
    const name = p.string(`tensor #${i} name`);
    const what = `tensor ${quoteName(name)}`;
    if (tensorByName.has(name)) throw new GgufError(`duplicate tensor name ${quoteName(name)}`, at);
    const dimsAt = r.offset;
    const nDims = r.u32(`${what} dimension count`);
    if (nDims < 1 || nDims > MAX_DIMS) throw new GgufError(`${what}: ${nDims} dimensions (supported: 1..${MAX_DIMS})`, dimsAt);
    const dims: number[] = [];
    let nElements = 1;
    for (let d = 0; d < nDims; d++) {
      const dimAt = r.offset;
      const dim = p.safeU64(`${what} dimension ${d}`);
      if (dim === 0) throw new GgufError(`${what}: dimension ${d} is 0`, dimAt);
      nElements *= dim;
      if (nElements > Number.MAX_SAFE_INTEGER) throw new GgufError(`${what}: element count overflows (dims [${[...dims, dim].join(", ")}...])`, dimAt);
      dims.push(dim);
    }
    const typeAt = r.offset;
    const type = r.u32(`${what} type`);
    const info = GGML_TYPES.get(type);
    if (!info) throw new GgufError(`${what}: unknown tensor type ${type}`, typeAt);
    if (dims[0]! % info.blockSize !== 0) {
      throw new GgufError(`${what}: row length ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${info.blockSize}`, dimsAt);
    }
    const offsetAt = r.offset;
    const offset = p.safeU64(`${what} data offset`);
    if (offset % alignment !== 0) throw new GgufError(`${what}: data offset ${offset} is not a multiple of the alignment ${alignment}`, offsetAt);
    const tensor: GgufTensorInfo = { name, dims, type, offset, nElements, nBytes: (nElements / info.blockSize) * info.typeSize };
    tensors.push(tensor);
    offsetFieldAt.push(offsetAt);
    tensorByName.set(name, tensor);
  }

  const dataOffset = alignUp(r.offset, alignment);
  checkTensorBounds(tensors, offsetFieldAt, fileSize - dataOffset);
  return { version, alignment, metadata, tensors, tensorByName, dataOffset, bytes };
}

/** Every tensor's data must lie inside the file and no two may overlap (llama.cpp is stricter still: contiguous in order). */
function checkTensorBounds(tensors: readonly GgufTensorInfo[], offsetFieldAt: readonly number[], dataBytes: number): void {
  const order = tensors.map((_, i) => i).sort((a, b) => tensors[a]!.offset - tensors[b]!.offset);
  let prev: GgufTensorInfo | undefined;
  for (const i of order) {
    const t = tensors[i]!;
    if (t.offset + t.nBytes > dataBytes) {
      throw new GgufError(`tensor ${quoteName(t.name)}: data [${t.offset}, ${t.offset + t.nBytes}) runs past the end of the data section (${Math.max(0, dataBytes)} bytes)`, offsetFieldAt[i]);
    }
    if (prev && t.offset < prev.offset + prev.nBytes) {
      throw new GgufError(`tensors ${quoteName(prev.name)} [${prev.offset}, ${prev.offset + prev.nBytes}) and ${quoteName(t.name)} [${t.offset}, ...) overlap`, offsetFieldAt[i]);
    }
    prev = t;
  }
}

/** Zero-copy view of a tensor's bytes (a subarray of `file.bytes`). */
export function tensorData(file: GgufFile, tensor: GgufTensorInfo | string): Uint8Array {
  const info = typeof tensor === "string" ? file.tensorByName.get(tensor) : tensor;
  if (!info) throw new GgufError(`no tensor named ${quoteName(String(tensor))}`);
  const start = file.dataOffset + info.offset;
  // A tensor info from another file could point anywhere; subarray would silently clamp it.
  if (start + info.nBytes > file.bytes.byteLength) throw new GgufError(`tensor ${quoteName(info.name)}: data [${start}, ${start + info.nBytes}) runs past the end of this file`);
  return file.bytes.subarray(start, start + info.nBytes);
}
