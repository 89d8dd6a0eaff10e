// Large model files into R2: multipart part sizes, a sparse multi-GB file read part by part, and miniflare's R2 (seed:r2's multipart path) holding the exact bytes.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PART_BYTES, MIN_PART_BYTES, modelBucket, partSizeFor, uploadMultipart, type MultipartBucket } from "../../scripts/lib/r2-multipart";
import { ROOT } from "../../scripts/lib/local-r2";

const MiB = 2 ** 20;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "edge-llama-upload-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A bucket that records each part's size and the process's peak array-buffer memory while parts arrive. */
function recordingBucket(failAt?: number) {
  const parts: number[] = [];
  let peak = 0;
  let completed: number[] | null = null;
  let aborted = false;
  const bucket: MultipartBucket = {
    createMultipartUpload: async () => ({
      uploadId: "u1",
      uploadPart: async (n, value) => {
        if (n === failAt) throw new Error(`part ${n} refused`);
        parts.push((value as Uint8Array).byteLength);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        return { partNumber: n, etag: `e${n}` };
      },
      complete: async (done) => {
        completed = done.map((p) => p.partNumber);
      },
      abort: async () => {
        aborted = true;
      },
    }),
  };
  return { bucket, parts, peak: () => peak, completed: () => completed, aborted: () => aborted };
}

describe("multipart part sizes", () => {
  it("64 MiB parts by default, at least 5 MiB, grown in whole MiB past 10,000 parts", () => {
    expect(partSizeFor(100 * MiB)).toBe(DEFAULT_PART_BYTES);
    expect(partSizeFor(100 * MiB, MIN_PART_BYTES)).toBe(5 * MiB);
    expect(() => partSizeFor(100 * MiB, 4 * MiB)).toThrow(/5 MiB/);
    // 1 TiB in 64 MiB parts would be 16,384 parts: the part grows to the smallest whole MiB that fits 10,000.
    expect(partSizeFor(2 ** 40)).toBe(Math.ceil(2 ** 40 / 10_000 / MiB) * MiB);
    expect(() => partSizeFor(60 * 2 ** 40)).toThrow(/10,000 parts/);
  });
});

describe("a file larger than memory would hold at once", () => {
  it("a sparse file over 2 GiB (what fs.readFile refuses) goes up in 33 parts, read part by part", async () => {
    const path = join(tempDir(), "big.gguf");
    const fd = openSync(path, "w");
    ftruncateSync(fd, 2 ** 31 + MiB); // sparse: no disk used
    closeSync(fd);
    const rec = recordingBucket();
    const before = process.memoryUsage().arrayBuffers;
    expect(await uploadMultipart(rec.bucket, "big.gguf", path)).toBe(33);
    expect(rec.parts).toEqual([...Array(32).fill(64 * MiB), MiB]);
    expect(rec.completed()).toEqual(Array.from({ length: 33 }, (_, i) => i + 1));
    // Never near the file's 2 GiB: a part and the read stream's chunks (garbage collection may lag a few parts).
    expect(rec.peak() - before).toBeLessThan(1024 * MiB);
  }, 300_000);

  it("the last part is the remainder; a failed part aborts the upload and the error reaches the caller", async () => {
    const path = join(tempDir(), "odd.gguf");
    writeFileSync(path, randomBytes(11 * MiB + 7));
    const ok = recordingBucket();
    expect(await uploadMultipart(ok.bucket, "odd.gguf", path, { partBytes: 5 * MiB })).toBe(3);
    expect(ok.parts).toEqual([5 * MiB, 5 * MiB, MiB + 7]);
    const bad = recordingBucket(2);
    await expect(uploadMultipart(bad.bucket, "odd.gguf", path, { partBytes: 5 * MiB })).rejects.toThrow(/part 2 refused/);
    expect(bad.aborted()).toBe(true);
    expect(bad.completed()).toBeNull();
  });
});

describe("npm run model:upload", () => {
  const upload = (args: string[]) => {
    try {
      execFileSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/model-upload.ts", ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      return { code: 0, stderr: "" };
    } catch (e) {
      const err = e as { status: number; stderr: string };
      return { code: err.status, stderr: err.stderr };
    }
  };
  it("refuses bad arguments with a usage error naming the flag, before touching any bucket", () => {
    const file = join(tempDir(), "m.gguf");
    writeFileSync(file, randomBytes(1024));
    expect(upload([])).toMatchObject({ code: 2, stderr: expect.stringContaining("--file is required") });
    expect(upload(["--file", file, "--part-mib", "4"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--part-mib must be an integer ≥ 5") });
    expect(upload(["--file", file, "--remote", "--persist-to", "x"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--remote and --persist-to contradict") });
    expect(upload(["--file", join(tempDir(), "missing.gguf")])).toMatchObject({ code: 2, stderr: expect.stringContaining("no such file") });
  }, 120_000);
});

describe("miniflare's R2 (the local bucket wrangler dev reads)", () => {
  it("seed:r2 puts a file over its multipart threshold part by part; the bucket holds exactly its bytes", async () => {
    const models = tempDir();
    const state = join(tempDir(), "state");
    const data = randomBytes(12 * MiB + 123);
    writeFileSync(join(models, "multi.gguf"), data);
    const out = execFileSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/seed-r2.ts", "--persist-to", state, "--multipart-above-mib", "5"], {
      cwd: ROOT,
      env: { ...process.env, EDGE_LLAMA_MODELS: models },
      encoding: "utf8",
    });
    expect(out).toContain("multi.gguf: uploaded 12.0 MiB in 3 parts");
    const { bucket, dispose } = await modelBucket({ persistTo: state });
    try {
      const obj = await (bucket as unknown as R2Like).get("multi.gguf");
      expect(obj).not.toBeNull();
      expect(obj!.size).toBe(data.length);
      expect(Buffer.compare(Buffer.from(await obj!.arrayBuffer()), data)).toBe(0);
    } finally {
      await dispose();
    }
  }, 300_000);
});

interface R2Like {
  get(key: string): Promise<{ size: number; arrayBuffer(): Promise<ArrayBuffer> } | null>;
}
