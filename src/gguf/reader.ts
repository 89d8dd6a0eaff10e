// GGUF v2/v3 reader over an in-memory file: metadata, tensor infos and zero-copy tensor views, with every input checked.
import { GgufError, quoteName } from "./errors";
import { GGML_TYPES, ggmlTypeName } from "./ggml-types";
import { GgufValueType, type GgufTensorInfo, type GgufValue } from "./types";
import { Parser, resolveOptions } from "./value-parser";
import { valueTypeName } from "./values";

import type { ReadGgufOptions } from "./value-parser";

// The options live with the parser that enforces them; re-exported so callers keep importing them from the reader.
export type { ReadGgufOptions } from "./value-parser";

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

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
// Smallest possible encodings: a kv is key length (8) + type (4) + a 1-byte value; a tensor info is name length (8)
// + n_dims (4) + one dim (8) + type (4) + offset (8). Used to reject counts the remaining bytes cannot hold.
const MIN_KV_BYTES = 13;
const MIN_TENSOR_INFO_BYTES = 32;

/** A power of two that fits a u32 (bitwise tests are only exact up to 2^31). */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 && (n & (n - 1)) === 0;
}

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

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
