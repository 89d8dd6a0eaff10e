// GGUF from R2 in ranges (the header, growing until it fits, then tensor by tensor): session objects load with it, GET /v1/model reads the header.
import { wasmMatrixBytes } from "../backends/wasm/formats";
import { GgufHeaderTooLarge, readGgufHeader, type GgufHeader } from "../gguf/index";
import { HostError } from "./errors";

/** First header read; doubled (up to the file size) while the header does not fit, e.g. a large vocabulary. */
export const HEADER_RANGE_BYTES = 1 << 20;

/** The object is no longer in the bucket (deleted while loading). */
export class ModelGoneError extends Error {
  override readonly name = "ModelGoneError";
}

/** The model is not in the bucket. */
export function modelMissing(name: string): HostError {
  return new HostError(`model "${name}" is not in the MODELS bucket (npm run seed:r2 uploads the model directory)`, "model_not_found");
}

/** What a failed loading step reports: model_not_found when the file went away, else model_load_failed naming the model. */
export function loadFailure(name: string, e: unknown): HostError {
  if (e instanceof ModelGoneError) return new HostError(e.message, "model_not_found");
  return new HostError(`model "${name}" could not be loaded: ${e instanceof Error ? e.message : String(e)}`, "model_load_failed");
}

/** Reads `length` bytes from `offset` of the object `name`; a short read is an error (the object changed under us). */
export async function readRange(bucket: R2Bucket, name: string, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0); // R2 refuses empty ranges
  const object = await bucket.get(name, { range: { offset, length } });
  if (!object) throw new ModelGoneError(`model "${name}" disappeared from the MODELS bucket while loading`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (bytes.byteLength !== length) throw new Error(`model "${name}": read ${bytes.byteLength} bytes at ${offset}, expected ${length}`);
  return bytes;
}

/** The header of `name` (a file of `size` bytes), read from a prefix of `first` bytes that grows until it holds it. */
export async function readHeaderRanged(bucket: R2Bucket, name: string, size: number, first = HEADER_RANGE_BYTES): Promise<GgufHeader> {
  if (!Number.isSafeInteger(first) || first < 1) throw new RangeError(`the first header range must be a positive number of bytes, got ${first}`);
  for (let length = Math.min(first, size); ; length = Math.min(2 * length, size)) {
    try {
      return readGgufHeader(await readRange(bucket, name, 0, length), size);
    } catch (e) {
      // At the full size the reader reports a real problem (a truncated file), never "header larger than".
      if (!(e instanceof GgufHeaderTooLarge) || length >= size) throw e;
    }
  }
}

/**
 * Bytes a copying backend holds once the weights are loaded: matrices as the wasm backend's format table packs them
 * (Q4_0 scales widened to f32, Q8_0 at its file size, K-quant scales unpacked, rows padded to panels of four; the
 * stored size for a type it lacks) and 1-D tensors as f32 vectors. An estimate for the check before downloading; the
 * real figure is checked after loading.
 */
export function estimatedWeightBytes(header: GgufHeader): number {
  let total = 0;
  for (const t of header.tensors) {
    if (t.dims.length === 1) total += t.nElements * 4;
    else total += wasmMatrixBytes(t.type, t.nElements / t.dims[0]!, t.dims[0]!, t.nBytes);
  }
  return total;
}

/** The largest tensor: the most the loader holds beside the weights while loading (usually the token embedding). */
export function largestTensorBytes(header: GgufHeader): number {
  return header.tensors.reduce((m, t) => Math.max(m, t.nBytes), 0);
}
