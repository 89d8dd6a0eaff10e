// GGUF header from a prefix of a file: metadata and tensor infos without the tensor data, for loading in ranges.
import { GgufError } from "./errors";
import { parseGguf, viewOf, type GgufFile, type ReadGgufOptions } from "./reader";

/** Metadata and tensor infos read from the start of a file whose tensor data need not be in memory. */
export interface GgufHeader extends GgufFile {
  /** Size of the whole file, which every tensor's data was checked against. */
  readonly fileSize: number;
}

/**
 * Parses the header (metadata and tensor infos) from the first bytes of a file of `fileSize` bytes, with every check
 * readGguf makes (tensor data bounds against the real file size). A prefix that ends inside the header throws
 * GgufHeaderTooLarge ("header larger than N bytes"): read a longer one and call again.
 */
export function readGgufHeader(prefix: ArrayBuffer | Uint8Array, fileSize: number, options: ReadGgufOptions = {}): GgufHeader {
  const bytes = prefix instanceof Uint8Array ? prefix : viewOf(prefix);
  if (!Number.isSafeInteger(fileSize) || fileSize < bytes.byteLength) {
    throw new GgufError(`file size must be an integer of at least the ${bytes.byteLength} bytes given, got ${fileSize}`);
  }
  return { ...parseGguf(bytes, fileSize, options), fileSize };
}
