// Puts a file of any size into an R2 bucket with a multipart upload, part by part: memory holds one part, never the file.
import { createReadStream, statSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MODEL_BUCKET } from "./local-r2";

/** R2's rules: every part but the last at least 5 MiB, at most 5 GiB, at most 10,000 parts. */
export const MIN_PART_BYTES = 5 * 2 ** 20;
export const MAX_PART_BYTES = 5 * 2 ** 30;
export const MAX_PARTS = 10_000;
/** 64 MiB parts: a 6 GiB file is under 100 parts, and one part stays far below a Worker's memory. */
export const DEFAULT_PART_BYTES = 64 * 2 ** 20;

/** The part of the R2 binding the upload uses (the Workers binding, or wrangler's platform proxy of it from Node). */
export interface MultipartBucket {
  createMultipartUpload(key: string): Promise<MultipartUpload>;
}
export interface MultipartUpload {
  readonly uploadId: string;
  uploadPart(partNumber: number, value: ArrayBuffer | ArrayBufferView): Promise<{ partNumber: number; etag: string }>;
  complete(parts: { partNumber: number; etag: string }[]): Promise<unknown>;
  abort(): Promise<void>;
}

/** The part size for a file: `wanted` when the file fits 10,000 of them, else the smallest whole MiB that does. */
export function partSizeFor(size: number, wanted = DEFAULT_PART_BYTES): number {
  if (!(wanted >= MIN_PART_BYTES && wanted <= MAX_PART_BYTES)) throw new RangeError(`part size must be 5 MiB..5 GiB, got ${wanted} bytes`);
  const needed = Math.ceil(size / MAX_PARTS / 2 ** 20) * 2 ** 20;
  const part = Math.max(wanted, needed);
  if (part > MAX_PART_BYTES) throw new RangeError(`a file of ${size} bytes needs parts over 5 GiB (R2 allows 10,000 parts)`);
  return part;
}

/** Reads [start, start + length) of the file into one buffer, by stream (the file is never read whole). */
async function readPart(path: string, start: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const chunk of createReadStream(path, { start, end: start + length - 1, highWaterMark: 4 * 2 ** 20 }) as AsyncIterable<Buffer>) {
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error(`${path}: read ${at} bytes of a ${length}-byte part at ${start} (did the file change?)`);
  return out;
}

/**
 * Uploads `path` as `key`: createMultipartUpload, one uploadPart per part in order, complete; a failure aborts the upload
 * (R2 keeps no half object). Returns the part count. `onPart` reports progress.
 */
export async function uploadMultipart(bucket: MultipartBucket, key: string, path: string, opts: { partBytes?: number; onPart?: (n: number, of: number) => void } = {}): Promise<number> {
  const size = statSync(path).size;
  const part = partSizeFor(size, opts.partBytes);
  const count = Math.max(1, Math.ceil(size / part));
  const upload = await bucket.createMultipartUpload(key);
  try {
    const done: { partNumber: number; etag: string }[] = [];
    for (let i = 0; i < count; i++) {
      const start = i * part;
      done.push(await upload.uploadPart(i + 1, await readPart(path, start, Math.min(part, size - start))));
      opts.onPart?.(i + 1, count);
    }
    await upload.complete(done);
  } catch (e) {
    await upload.abort().catch(() => {});
    throw e;
  }
  return count;
}

/**
 * The MODELS bucket through wrangler's platform proxy: the local bucket `wrangler dev --persist-to persistTo` reads, or
 * with `remote` the real bucket of the account wrangler is logged in to (remote bindings). Call dispose() when done.
 */
export async function modelBucket(opts: { persistTo?: string; remote?: boolean; bucket?: string }): Promise<{ bucket: MultipartBucket; dispose: () => Promise<void> }> {
  const { getPlatformProxy } = await import("wrangler");
  // A config of its own with only the bucket: nothing else of the Worker starts, and `remote` applies to it alone.
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-r2-"));
  const config = join(dir, "wrangler.json");
  writeFileSync(config, JSON.stringify({ name: "edge-llama-upload", compatibility_date: "2025-01-01", r2_buckets: [{ binding: "MODELS", bucket_name: opts.bucket ?? MODEL_BUCKET, ...(opts.remote && { remote: true }) }] }));
  try {
    const proxy = await getPlatformProxy<{ MODELS: MultipartBucket }>({
      configPath: config,
      remoteBindings: opts.remote === true,
      ...(opts.persistTo !== undefined && { persist: { path: join(opts.persistTo, "v3") } }),
    });
    return {
      bucket: proxy.env.MODELS,
      dispose: async () => {
        await proxy.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
