// Downloads a pinned model file into a resumable .part file, checks its size and sha256, then renames it into place.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Progress } from "./progress";

export { formatBytes, formatProgress, progressPrinter, type Progress, type ProgressSink } from "./progress";

/** The subset of `fetch` the downloader uses; tests pass a fake that never touches the network. */
export type FetchFn = (
  url: string,
  init?: { signal?: AbortSignal; redirect?: "follow"; headers?: Record<string, string> },
) => Promise<Response>;

/** What a downloaded file must be. */
export interface Expected {
  readonly file: string;
  readonly urls: readonly string[];
  /** Exact size; undefined for a `--url` download given no `--bytes` (the sha256 still pins the content). */
  readonly bytes?: number;
  readonly sha256: string;
}

export interface PullOptions {
  /** Model directory; created if missing. */
  readonly dir: string;
  /** Download even when a verified copy is present. */
  readonly force?: boolean;
  /** Defaults to the global fetch. */
  readonly fetch?: FetchFn;
  readonly onProgress?: (p: Progress) => void;
  /** Status lines ("already present and verified", "resuming", ...). */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Clock in milliseconds (tests pin it). */
  readonly now?: () => number;
}

export interface PullResult {
  readonly path: string;
  readonly action: "present" | "downloaded";
  /** The URL the bytes came from (downloads only). */
  readonly url?: string;
}

/** Any failure of a pull, with a message meant for the user. */
export class PullError extends Error {
  override readonly name = "PullError";
}

/** A failure after which the .part file holds good bytes a rerun can continue from (a dropped connection, an abort). */
class Resumable extends PullError {}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly missing: boolean; readonly reason: string };

/** Checks a file on disk against the pins: size first (cheap, when pinned), then a streaming sha256. */
export async function verifyFile(path: string, want: Pick<Expected, "bytes" | "sha256">): Promise<Verification> {
  const size = await fileSize(path);
  if (size === undefined) return { ok: false, missing: true, reason: "not present" };
  if (size < 0) return { ok: false, missing: false, reason: `${path} is not a regular file` };
  if (want.bytes !== undefined && size !== want.bytes) return { ok: false, missing: false, reason: sizeMessage(want.bytes, size) };
  const got = (await hashFile(path, createHash("sha256"))).digest("hex");
  return got === want.sha256 ? { ok: true } : { ok: false, missing: false, reason: shaMessage(want.sha256, got) };
}

/** Size of a regular file, undefined when missing, -1 when it is something else (a directory). */
async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : -1;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function hashFile(path: string, hash: Hash): Promise<Hash> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

function sizeMessage(expected: number, got: number): string {
  return `size mismatch: expected ${expected} bytes, got ${got}`;
}

function shaMessage(expected: string, got: string): string {
  return `sha256 mismatch: expected ${expected}, got ${got}`;
}

const describeSize = (want: Expected, size: number | undefined): string => `${want.bytes ?? size ?? "?"} bytes`;

/**
 * Makes sure `dir/file` exists and verifies. A verified copy is kept without any network access (unless `force`);
 * otherwise each URL is tried in turn until one yields the exact pinned bytes. An interrupted download leaves
 * `file.part`; the next run continues it with an HTTP Range request.
 */
export async function pullModel(want: Expected, opts: PullOptions): Promise<PullResult> {
  const log = opts.log ?? (() => {});
  const path = join(opts.dir, want.file);
  const existing = await verifyFile(path, want);
  if (existing.ok && !opts.force) {
    const size = describeSize(want, await fileSize(path));
    log(`${want.file}: already present and verified (${size}, sha256 ${want.sha256.slice(0, 12)}…) at ${path}`);
    return { path, action: "present" };
  }
  if (existing.ok) log(`${want.file}: present and verified, downloading again (--force)`);
  else if (!existing.missing) log(`${want.file}: present at ${path} but does not verify (${existing.reason}); re-downloading`);

  await mkdir(opts.dir, { recursive: true });
  const part = `${path}.part`;
  const failures: string[] = [];
  for (const url of want.urls) {
    try {
      await downloadTo(url, path, want, opts, log);
      log(`${want.file}: downloaded and verified (${describeSize(want, await fileSize(path))}, sha256 ${want.sha256}) to ${path}`);
      return { path, action: "downloaded", url };
    } catch (err) {
      if (opts.signal?.aborted) throw new PullError(`${want.file}: download interrupted; ${await partNote(part)}`);
      failures.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const stale = existing.ok || existing.missing ? "" : ` The existing ${path} does not verify and was left as it was.`;
  const detail = failures.length === 1 ? failures[0]! : `every source failed:\n  ${failures.join("\n  ")}`;
  const kept = (await fileSize(part)) ? ` ${await partNote(part)}.` : "";
  throw new PullError(`${want.file}: download failed: ${detail}.${stale}${kept}`);
}

async function partNote(part: string): Promise<string> {
  const size = await fileSize(part);
  return size ? `${size} bytes are kept in ${part}; run the same command again to resume` : "nothing was written";
}

/**
 * One URL: continues `path.part` if there is one (a plain GET when the server ignores the Range), and renames it into
 * place once the whole file verifies. A resumed file that fails its sha256 is discarded and fetched once more from
 * byte 0, since the old part may have come from a different file.
 */
async function downloadTo(url: string, path: string, want: Expected, opts: PullOptions, log: (line: string) => void): Promise<void> {
  const part = `${path}.part`;
  let offset = Math.max(0, (await fileSize(part)) ?? 0);
  if (want.bytes !== undefined && offset >= want.bytes) {
    // Complete (or over-long) part: a crash between the last write and the rename. Finish it with no request when it verifies.
    if (offset === want.bytes && (await verifyFile(part, want)).ok) return rename(part, path);
    await unlink(part);
    offset = 0;
  }
  const state = { resumed: false };
  try {
    await fetchInto(url, part, offset, want, opts, log, state);
  } catch (err) {
    if (!state.resumed || err instanceof Resumable || !(err instanceof PullError)) throw err;
    log(`${want.file}: the resumed download did not verify (${err.message}); starting again from byte 0`);
    await fetchInto(url, part, 0, want, opts, log, state);
  }
  await rename(part, path);
}

/** Parses `Content-Range: bytes START-END/TOTAL` (TOTAL may be "*"). */
function contentRange(value: string | null): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? "");
  return m ? { start: Number(m[1]), total: m[3] === "*" ? undefined : Number(m[3]) } : undefined;
}

/**
 * One request: appends to `part` from `offset` (206) or rewrites it (200). Removes the part on any mismatch; sets
 * `state.resumed` when the server continued an existing part.
 */
async function fetchInto(
  url: string,
  part: string,
  offset: number,
  want: Expected,
  opts: PullOptions,
  log: (line: string) => void,
  state: { resumed: boolean },
): Promise<void> {
  const fetchFn = opts.fetch ?? ((u, init) => fetch(u, init));
  const now = opts.now ?? Date.now;
  const drop = async (res: Response, err: PullError): Promise<never> => {
    await res.body?.cancel().catch(() => {});
    await unlink(part).catch(() => {});
    throw err;
  };
  let res: Response;
  try {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    res = await fetchFn(url, { redirect: "follow", headers, ...(opts.signal && { signal: opts.signal }) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Resumable(`could not connect (${err instanceof Error ? err.message : String(err)}${cause ? `: ${cause}` : ""})`);
  }
  if (res.status === 416 && offset > 0) {
    // The part is at or past the end of what the server has: it cannot be continued.
    await res.body?.cancel().catch(() => {});
    await unlink(part);
    log(`${want.file}: the server cannot continue ${part} (HTTP 416); starting again from byte 0`);
    return fetchInto(url, part, 0, want, opts, log, state);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new Resumable(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
  }
  const encoded = res.headers.get("content-encoding") !== null;
  const announced = res.headers.get("content-length");
  let start = 0;
  let total = want.bytes;
  if (res.status === 206 && offset > 0) {
    const range = contentRange(res.headers.get("content-range"));
    if (!range || range.start !== offset) {
      return drop(res, new PullError(`the server answered a request from byte ${offset} with Content-Range ${res.headers.get("content-range")}`));
    }
    if (range.total !== undefined && total !== undefined && range.total !== total) {
      return drop(res, new PullError(`size mismatch: expected ${total} bytes, the server has ${range.total}`));
    }
    total ??= range.total;
    start = offset;
    state.resumed = true;
    log(`${want.file}: resuming at byte ${offset}${total !== undefined ? ` of ${total}` : ""}`);
  } else if (offset > 0) {
    state.resumed = false;
    log(`${want.file}: the server sent the whole file (HTTP ${res.status}, no range support); starting again from byte 0`);
  }
  if (announced !== null && !encoded) {
    const whole = start + Number(announced);
    if (total !== undefined && whole !== total) {
      return drop(res, new PullError(`size mismatch: expected ${total} bytes, the server announced ${whole}`));
    }
    total ??= whole;
  }
  if (!res.body) return drop(res, new PullError("the response has no body"));

  const hash = createHash("sha256");
  if (start > 0) await hashFile(part, hash); // the sha256 covers the whole file, not just this response
  const fh = await open(part, start > 0 ? "a" : "w");
  const reader = res.body.getReader();
  const began = now();
  let received = start;
  const head = Buffer.alloc(4);
  try {
    for (;;) {
      if (opts.signal?.aborted) throw new Resumable("interrupted");
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (opts.signal?.aborted) throw new Resumable("interrupted");
        throw new Resumable(`the connection was lost after ${received} bytes (${err instanceof Error ? err.message : String(err)})`);
      }
      if (chunk.done) break;
      const value = chunk.value;
      if (start === 0 && received < 4) checkMagic(head, value, received, url);
      if (total !== undefined && received + value.byteLength > total) {
        throw new PullError(`size mismatch: expected ${total} bytes, got more (${received + value.byteLength} so far)`);
      }
      received += value.byteLength;
      hash.update(value);
      await fh.write(value);
      opts.onProgress?.({ file: want.file, received, total: total ?? 0, resumedFrom: start, elapsedMs: now() - began });
    }
    if (total !== undefined && received !== total) throw new PullError(sizeMessage(total, received));
    const got = hash.digest("hex");
    if (got !== want.sha256) throw new PullError(shaMessage(want.sha256, got));
    await fh.sync();
  } catch (err) {
    await reader.cancel().catch(() => {});
    await fh.close().catch(() => {});
    // Good bytes so far are kept for a rerun; anything that failed a check is removed.
    if (!(err instanceof Resumable)) await unlink(part).catch(() => {});
    throw err;
  }
  await fh.close();
}

/**
 * Fails fast when the first bytes are not GGUF's magic: a wrong link usually serves an HTML page, which would
 * otherwise only show up as a sha256 mismatch after the whole download.
 */
function checkMagic(head: Buffer, chunk: Uint8Array, at: number, url: string): void {
  const n = Math.min(4 - at, chunk.byteLength);
  head.set(chunk.subarray(0, n), at);
  if (at + n < 4 || head.toString("latin1") === "GGUF") return;
  const hint = url.includes("/blob/") ? "; for Hugging Face use the /resolve/ link, not /blob/" : "; is the URL a direct download link?";
  throw new PullError(`not a GGUF file: it starts with ${JSON.stringify(head.toString("latin1"))}${hint}`);
}
