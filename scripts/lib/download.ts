// Downloads a pinned model file into a .part file, checks its size and streaming sha256, then renames it into place.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

/** The subset of `fetch` the downloader uses; tests pass a fake that never touches the network. */
export type FetchFn = (url: string, init?: { signal?: AbortSignal; redirect?: "follow" }) => Promise<Response>;

/** What a downloaded file must be. */
export interface Expected {
  readonly file: string;
  readonly urls: readonly string[];
  readonly bytes: number;
  readonly sha256: string;
}

export interface Progress {
  readonly file: string;
  readonly received: number;
  readonly total: number;
  readonly elapsedMs: number;
}

export interface PullOptions {
  /** Model directory; created if missing. */
  readonly dir: string;
  /** Download even when a verified copy is present. */
  readonly force?: boolean;
  /** Defaults to the global fetch. */
  readonly fetch?: FetchFn;
  readonly onProgress?: (p: Progress) => void;
  /** Status lines ("already present and verified", "re-downloading", ...). */
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

export type Verification = { readonly ok: true } | { readonly ok: false; readonly missing: boolean; readonly reason: string };

/** Checks a file on disk against the pins: size first (cheap), then a streaming sha256. */
export async function verifyFile(path: string, want: Pick<Expected, "bytes" | "sha256">): Promise<Verification> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) return { ok: false, missing: false, reason: `${path} is not a regular file` };
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { ok: false, missing: true, reason: "not present" };
    throw err;
  }
  if (size !== want.bytes) return { ok: false, missing: false, reason: sizeMessage(want.bytes, size) };
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const got = hash.digest("hex");
  return got === want.sha256 ? { ok: true } : { ok: false, missing: false, reason: shaMessage(want.sha256, got) };
}

function sizeMessage(expected: number, got: number): string {
  return `size mismatch: expected ${expected} bytes, got ${got}`;
}

function shaMessage(expected: string, got: string): string {
  return `sha256 mismatch: expected ${expected}, got ${got}`;
}

/**
 * Makes sure `dir/file` exists and verifies. A verified copy is kept without any network access (unless `force`);
 * otherwise each URL is tried in turn until one yields the exact pinned bytes.
 */
export async function pullModel(want: Expected, opts: PullOptions): Promise<PullResult> {
  const log = opts.log ?? (() => {});
  const path = join(opts.dir, want.file);
  const existing = await verifyFile(path, want);
  if (existing.ok && !opts.force) {
    log(`${want.file}: already present and verified (${want.bytes} bytes, sha256 ${want.sha256.slice(0, 12)}…) at ${path}`);
    return { path, action: "present" };
  }
  if (existing.ok) log(`${want.file}: present and verified, downloading again (--force)`);
  else if (!existing.missing) log(`${want.file}: present at ${path} but does not verify (${existing.reason}); re-downloading`);

  await mkdir(opts.dir, { recursive: true });
  const failures: string[] = [];
  for (const url of want.urls) {
    try {
      await downloadTo(url, path, want, opts);
      log(`${want.file}: downloaded and verified (${want.bytes} bytes, sha256 ${want.sha256}) to ${path}`);
      return { path, action: "downloaded", url };
    } catch (err) {
      if (opts.signal?.aborted) throw new PullError(`${want.file}: download interrupted; nothing was written`);
      failures.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const stale = existing.ok || existing.missing ? "" : ` The existing ${path} does not verify and was left as it was.`;
  const detail = failures.length === 1 ? failures[0]! : `every source failed:\n  ${failures.join("\n  ")}`;
  throw new PullError(`${want.file}: download failed: ${detail}.${stale}`);
}

/** One attempt: streams `url` into `path.part`, hashing as it goes; renames only when size and sha256 match. */
async function downloadTo(url: string, path: string, want: Expected, opts: PullOptions): Promise<void> {
  const fetchFn = opts.fetch ?? ((u, init) => fetch(u, init));
  const now = opts.now ?? Date.now;
  let res: Response;
  try {
    res = await fetchFn(url, { redirect: "follow", ...(opts.signal && { signal: opts.signal }) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new PullError(`could not connect (${err instanceof Error ? err.message : String(err)}${cause ? `: ${cause}` : ""})`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new PullError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
  }
  const announced = res.headers.get("content-length");
  if (announced !== null && !res.headers.get("content-encoding") && Number(announced) !== want.bytes) {
    await res.body?.cancel().catch(() => {});
    throw new PullError(`size mismatch: expected ${want.bytes} bytes, the server announced ${announced}`);
  }
  if (!res.body) throw new PullError("the response has no body");

  const part = `${path}.part`;
  const fh = await open(part, "w");
  const reader = res.body.getReader();
  const hash = createHash("sha256");
  const start = now();
  let received = 0;
  try {
    for (;;) {
      if (opts.signal?.aborted) throw new PullError("interrupted");
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > want.bytes) throw new PullError(`size mismatch: expected ${want.bytes} bytes, got more (${received} so far)`);
      hash.update(value);
      await fh.write(value);
      opts.onProgress?.({ file: want.file, received, total: want.bytes, elapsedMs: now() - start });
    }
    if (received !== want.bytes) throw new PullError(sizeMessage(want.bytes, received));
    const got = hash.digest("hex");
    if (got !== want.sha256) throw new PullError(shaMessage(want.sha256, got));
    await fh.sync();
    await fh.close();
  } catch (err) {
    await reader.cancel().catch(() => {});
    await fh.close().catch(() => {});
    await unlink(part).catch(() => {});
    throw err;
  }
  await rename(part, path);
}

/** "1.13 MiB"-style sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(2)} ${units[i]}`;
}

/** One progress line: bytes/total, percent and average rate. */
export function formatProgress(p: Progress): string {
  const pct = p.total > 0 ? (100 * p.received) / p.total : 0;
  const rate = p.elapsedMs > 0 ? (p.received * 1000) / p.elapsedMs : 0;
  return `${p.file}  ${formatBytes(p.received)} / ${formatBytes(p.total)}  ${pct.toFixed(1)}%  ${formatBytes(rate)}/s`;
}

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress callback for a terminal or a log. On a TTY one line is rewritten in place with \r (at most every
 * 100 ms); otherwise a line is printed at each 10% step. `finish()` ends the line.
 */
export function progressPrinter(out: ProgressSink, now: () => number = Date.now): { update: (p: Progress) => void; finish: () => void } {
  let lastAt = -Infinity;
  let lastStep = -1;
  let lastLen = 0;
  let pending = false;
  return {
    update(p) {
      const complete = p.received >= p.total;
      if (out.isTTY) {
        const t = now();
        if (!complete && t - lastAt < 100) return;
        lastAt = t;
        const line = formatProgress(p);
        out.write(`\r${line.padEnd(lastLen)}`);
        lastLen = line.length;
        pending = true;
      } else {
        const step = p.total > 0 ? Math.floor((10 * p.received) / p.total) : 0;
        if (step === lastStep) return;
        lastStep = step;
        out.write(`${formatProgress(p)}\n`);
      }
    },
    finish() {
      if (pending) out.write("\n");
      pending = false;
    },
  };
}
