// Test helpers for the GGUF tests: a raw byte builder for hand-made (and deliberately broken) files, and a small valid file.
import { expect } from "vitest";
import { GgmlType, GgufError, GgufValueType, gguf, readGguf, writeGguf, type ReadGgufOptions } from "../../src/gguf/index";

type Chunk = Uint8Array | readonly number[];

export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
export const u64 = (n: number | bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
/** A GGUF string: u64 byte length + UTF-8 bytes. */
export const str = (s: string): Uint8Array => {
  const b = new TextEncoder().encode(s);
  return cat(u64(b.length), b);
};

export function cat(...chunks: Chunk[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Header: magic, version, tensor count, kv count. */
export const header = (nTensors: number | bigint, nKv: number | bigint, version = 3): Uint8Array =>
  cat([0x47, 0x47, 0x55, 0x46], u32(version), u64(nTensors), u64(nKv));
/** One metadata entry: key, value type, already-encoded value. */
export const kv = (key: string, type: number, value: Chunk): Uint8Array => cat(str(key), u32(type), value);
/** One tensor info: name, n_dims, dims, ggml type, data offset. */
export const tensorInfo = (name: string, dims: readonly (number | bigint)[], type: number, offset: number | bigint): Uint8Array =>
  cat(str(name), u32(dims.length), ...dims.map(u64), u32(type), u64(offset));
/** Zero bytes up to the next multiple of `alignment`. */
export const padTo = (b: Uint8Array, alignment = 32): Uint8Array => cat(b, new Uint8Array((alignment - (b.length % alignment)) % alignment));

/** A file of hand-made parts: header, kvs and tensor infos, padded, then `dataBytes` bytes of tensor data. */
export const rawFile = (nTensors: number, kvs: Chunk[], infos: Chunk[], dataBytes = 0): Uint8Array =>
  cat(padTo(cat(header(nTensors, kvs.length), ...kvs, ...infos)), new Uint8Array(dataBytes));

/** A small valid file: two metadata entries, two Q8_0 tensors (a at data offset 0, b at 96). */
export function smallFile(): Uint8Array {
  return writeGguf({
    metadata: [["general.architecture", gguf.str("llama")], ["n", gguf.u32(7)], ["tokens", gguf.arr(GgufValueType.STRING, ["a", "bc"])]],
    tensors: [
      { name: "a", dims: [32, 2], type: GgmlType.Q8_0, data: new Uint8Array(68).fill(1) },
      { name: "b", dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(34).fill(2) },
    ],
  });
}

export const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** Offset of the first occurrence of a byte pattern (to patch a field in place). */
export function find(b: Uint8Array, pattern: Chunk | string): number {
  const p = typeof pattern === "string" ? new TextEncoder().encode(pattern) : pattern;
  const at = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(Buffer.from(p as Uint8Array));
  if (at < 0) throw new Error(`pattern not found`);
  return at;
}

/** Asserts that reading `bytes` throws a GgufError whose message matches; returns it for further checks. */
export function expectGgufError(bytes: Uint8Array, message: RegExp, options?: ReadGgufOptions): GgufError {
  let caught: unknown;
  try {
    readGguf(bytes, options);
  } catch (e) {
    caught = e;
  }
  expect(caught, "readGguf should have thrown").toBeInstanceOf(GgufError);
  expect((caught as Error).message).toMatch(message);
  return caught as GgufError;
}
