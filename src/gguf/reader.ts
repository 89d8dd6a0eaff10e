// GGUF v2/v3 reader over an in-memory file: metadata, tensor infos and zero-copy tensor views, with every input checked.
import { ByteReader } from "./byte-reader";
import { GgufError } from "./errors";
import { GGML_TYPES, ggmlTypeName } from "./ggml-types";
import { GgufValueType, type GgufArray, type GgufTensorInfo, type GgufValue } from "./types";

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
  /** The whole file. */
  readonly bytes: Uint8Array;
}

export interface ReadGgufOptions {
  maxArrayLength?: number;
  maxTensors?: number;
  maxMetadataEntries?: number;
  maxStringLength?: number;
}

const DEFAULTS: Required<ReadGgufOptions> = {
  maxArrayLength: 1 << 24,
  maxTensors: 1 << 16,
  maxMetadataEntries: 1 << 16,
  maxStringLength: 1 << 24,
};

const MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;

/** Smallest encoded size of one element of a type (to reject counts the remaining bytes cannot hold). */
function minElementSize(type: GgufValueType): number {
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.ARRAY:
      return 12;
    default:
      return 8; // 64-bit values and string length prefixes
  }
}

type Plain = number | bigint | boolean | string | GgufArray;

class Parser {
  readonly r: ByteReader;
  constructor(
    bytes: Uint8Array,
    readonly opts: Required<ReadGgufOptions>,
  ) {
    this.r = new ByteReader(bytes);
  }

  valueType(what: string): GgufValueType {
    const at = this.r.offset;
    const t = this.r.u32(`${what} type`);
    if (!(t in GgufValueType) || t > GgufValueType.FLOAT64) throw new GgufError(`${what}: unknown value type ${t}`, at);
    return t as GgufValueType;
  }

  scalar(type: GgufValueType, what: string, depth: number): Plain {
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
        if (b > 1) throw new GgufError(`${what}: invalid bool byte ${b}`, at);
        return b === 1;
      }
      case GgufValueType.STRING: return r.string(what, this.opts.maxStringLength);
      case GgufValueType.ARRAY: return this.array(what, depth + 1);
    }
  }

  array(what: string, depth: number): GgufArray {
    if (depth > MAX_ARRAY_DEPTH) throw new GgufError(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`, this.r.offset);
    const elementType = this.valueType(`${what} element`);
    const at = this.r.offset;
    const n = this.r.count(`${what} array length`, this.opts.maxArrayLength);
    if (n * minElementSize(elementType) > this.r.remaining) {
      throw new GgufError(`${what}: array of ${n} elements cannot fit in the ${this.r.remaining} bytes left`, at);
    }
    const items = new Array<Plain>(n);
    for (let i = 0; i < n; i++) items[i] = this.scalar(elementType, what, depth);
    return { elementType, items: items as GgufArray["items"] };
  }

  value(key: string): GgufValue {
    const type = this.valueType(`metadata ${key}`);
    return { type, value: this.scalar(type, `metadata ${key}`, 0) } as GgufValue;
  }
}

/** Parses a GGUF file; throws GgufError naming the problem and its byte offset for any malformed input. */
export function readGguf(data: ArrayBuffer | Uint8Array, options: ReadGgufOptions = {}): GgufFile {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const p = new Parser(bytes, { ...DEFAULTS, ...options });
  const r = p.r;

  if (bytes.byteLength < 4 || r.u32("magic") !== MAGIC) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new GgufError(`bad magic: expected "GGUF" (47 47 55 46), got ${got || "an empty file"}`, 0);
  }
  const version = r.u32("version");
  if (version !== 2 && version !== 3) throw new GgufError(`unsupported GGUF version ${version} (supported: 2, 3)`, 4);
  const nTensors = r.count("tensor count", p.opts.maxTensors);
  const nKv = r.count("metadata entry count", p.opts.maxMetadataEntries);
  // Each metadata entry takes at least 12 bytes (key length + type), each tensor info at least 24.
  if (nKv * 12 + nTensors * 24 > r.remaining) {
    throw new GgufError(`absurd counts: ${nKv} metadata entries and ${nTensors} tensors cannot fit in ${r.remaining} bytes`, 8);
  }

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const at = r.offset;
    const key = r.string(`metadata key #${i}`, p.opts.maxStringLength);
    if (metadata.has(key)) throw new GgufError(`duplicate metadata key ${key}`, at);
    metadata.set(key, p.value(key));
  }

  let alignment = 32;
  const align = metadata.get("general.alignment");
  if (align !== undefined) {
    if (align.type !== GgufValueType.UINT32 || align.value === 0 || (align.value & (align.value - 1)) !== 0) {
      throw new GgufError(`general.alignment must be a non-zero power of two u32, got ${String(align.value)}`);
    }
    alignment = align.value;
  }

  const tensors: GgufTensorInfo[] = [];
  const tensorByName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const at = r.offset;
    const name = r.string(`tensor #${i} name`, p.opts.maxStringLength);
    if (tensorByName.has(name)) throw new GgufError(`duplicate tensor name ${name}`, at);
    const nDims = r.u32(`tensor ${name} dimension count`);
    if (nDims < 1 || nDims > MAX_DIMS) throw new GgufError(`tensor ${name}: ${nDims} dimensions (supported: 1..${MAX_DIMS})`, at);
    const dims: number[] = [];
    let nElements = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = r.count(`tensor ${name} dimension ${d}`, Number.MAX_SAFE_INTEGER);
      if (dim === 0) throw new GgufError(`tensor ${name}: dimension ${d} is 0`, at);
      nElements *= dim;
      if (nElements > Number.MAX_SAFE_INTEGER) throw new GgufError(`tensor ${name}: element count overflows`, at);
      dims.push(dim);
    }
    const typeAt = r.offset;
    const type = r.u32(`tensor ${name} type`);
    const info = GGML_TYPES.get(type);
    if (!info) throw new GgufError(`tensor ${name}: unknown tensor type ${type}`, typeAt);
    if (dims[0]! % info.blockSize !== 0) {
      throw new GgufError(`tensor ${name}: row length ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${info.blockSize}`, typeAt);
    }
    const offset = r.count(`tensor ${name} offset`, Number.MAX_SAFE_INTEGER);
    if (offset % alignment !== 0) throw new GgufError(`tensor ${name}: data offset ${offset} is not a multiple of the alignment ${alignment}`, typeAt);
    const tensor: GgufTensorInfo = { name, dims, type, offset, nElements, nBytes: (nElements / info.blockSize) * info.typeSize };
    tensors.push(tensor);
    tensorByName.set(name, tensor);
  }

  const dataOffset = Math.ceil(r.offset / alignment) * alignment;
  checkTensorBounds(tensors, bytes.byteLength - dataOffset, dataOffset);
  return { version, alignment, metadata, tensors, tensorByName, dataOffset, bytes };
}

/** Every tensor's data must lie inside the file and no two may overlap. */
function checkTensorBounds(tensors: readonly GgufTensorInfo[], dataBytes: number, dataOffset: number): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  let end = 0;
  let prev: GgufTensorInfo | undefined;
  for (const t of sorted) {
    if (t.offset + t.nBytes > dataBytes) {
      throw new GgufError(`tensor ${t.name}: data [${t.offset}, ${t.offset + t.nBytes}) runs past the end of the data section (${Math.max(0, dataBytes)} bytes)`, dataOffset + t.offset);
    }
    if (prev && t.offset < end) throw new GgufError(`tensors ${prev.name} and ${t.name} overlap`, dataOffset + t.offset);
    end = t.offset + t.nBytes;
    prev = t;
  }
}

/** Zero-copy view of a tensor's bytes. */
export function tensorData(file: GgufFile, tensor: GgufTensorInfo | string): Uint8Array {
  const info = typeof tensor === "string" ? file.tensorByName.get(tensor) : tensor;
  if (!info) throw new GgufError(`no tensor named ${String(tensor)}`);
  const start = file.dataOffset + info.offset;
  return file.bytes.subarray(start, start + info.nBytes);
}
