// model:pull without a network: a fake fetch streams the real local stories260K.gguf (or a damaged copy) into a temp dir.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { modelPath } from "../../scripts/lib/model-dir";
import { freePort } from "../../scripts/lib/dev-server";
import { CATALOG, DEFAULT_MODEL, findModel, knownModelNames } from "../../scripts/lib/model-catalog";
import { formatProgress, progressPrinter, pullModel, verifyFile, type FetchFn, type Progress } from "../../scripts/lib/download";

const entry = findModel("stories260K")!;
const real = new Uint8Array(readFileSync(modelPath(entry.file)));

/** A fake fetch serving `body` in 64 KiB chunks (or an HTTP error), recording the URLs it was asked for. */
function fakeFetch(body: Uint8Array | { status: number; statusText: string }, headers: Record<string, string> = {}) {
  const calls: string[] = [];
  const fn: FetchFn = async (url) => {
    calls.push(url);
    if (!(body instanceof Uint8Array)) return new Response("not found", body);
    let pos = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pos >= body.length) return controller.close();
        controller.enqueue(body.slice(pos, pos + 65536));
        pos += 65536;
      },
    });
    return new Response(stream, { status: 200, headers });
  };
  return { fn, calls };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "model-pull-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const target = () => join(dir, entry.file);

describe("catalog", () => {
  it("pins stories260K to the local reference file and defaults to it", async () => {
    expect(DEFAULT_MODEL).toBe("stories260K");
    expect(entry.bytes).toBe(1_185_376);
    expect(entry.sha256).toBe("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
    expect(entry.urls[0]).toBe("https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf");
    expect(await verifyFile(modelPath(entry.file), entry)).toEqual({ ok: true });
    expect(findModel("STORIES260K.gguf")).toBe(entry);
    expect(findModel("stories15M")).toBeUndefined();
    expect(knownModelNames()).toEqual(CATALOG.map((e) => e.name));
    for (const e of CATALOG) expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("pullModel", () => {
  it("downloads, verifies and renames into place, reporting progress", async () => {
    const { fn, calls } = fakeFetch(real, { "content-length": String(real.length) });
    const progress: Progress[] = [];
    const logs: string[] = [];
    const res = await pullModel(entry, { dir, fetch: fn, onProgress: (p) => progress.push(p), log: (l) => logs.push(l) });
    expect(res).toEqual({ path: target(), action: "downloaded", url: entry.urls[0] });
    expect(calls).toEqual([entry.urls[0]]);
    expect(readFileSync(target()).equals(Buffer.from(real))).toBe(true);
    expect(readdirSync(dir)).toEqual([entry.file]);
    expect(progress.at(-1)).toMatchObject({ received: real.length, total: real.length });
    expect(progress.length).toBe(Math.ceil(real.length / 65536));
    expect(logs.join("\n")).toMatch(/downloaded and verified/);
  });

  it("creates a missing model directory", async () => {
    const nested = join(dir, "a", "b");
    await pullModel(entry, { dir: nested, fetch: fakeFetch(real).fn });
    expect(await verifyFile(join(nested, entry.file), entry)).toEqual({ ok: true });
  });

  it("a corrupted stream fails with expected vs got sha256 and leaves no file behind", async () => {
    const bad = real.slice();
    bad[700_000]! ^= 0x10;
    const { fn, calls } = fakeFetch(bad);
    const err = await pullModel(entry, { dir, fetch: fn }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`sha256 mismatch: expected ${entry.sha256}, got [0-9a-f]{64}`));
    expect(calls).toEqual(entry.urls); // every source was tried
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a truncated stream fails with a size error", async () => {
    const err = await pullModel(entry, { dir, fetch: fakeFetch(real.subarray(0, 1_000_000)).fn }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/size mismatch: expected 1185376 bytes, got 1000000/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an over-long stream stops at the first extra byte", async () => {
    const long = new Uint8Array(real.length + 10);
    long.set(real);
    const err = await pullModel(entry, { dir, fetch: fakeFetch(long).fn }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/expected 1185376 bytes, got more/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a wrong Content-Length is refused before any byte is written", async () => {
    const { fn } = fakeFetch(real, { "content-length": "12345" });
    const err = await pullModel(entry, { dir, fetch: fn }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/expected 1185376 bytes, the server announced 12345/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("HTTP 404 is a clear error naming each URL", async () => {
    const err = await pullModel(entry, { dir, fetch: fakeFetch({ status: 404, statusText: "Not Found" }).fn }).catch((e: Error) => e);
    expect((err as Error).name).toBe("PullError");
    expect((err as Error).message).toMatch(/download failed/);
    for (const url of entry.urls) expect((err as Error).message).toContain(`${url}: HTTP 404 Not Found`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("falls back to the next URL when the first fails", async () => {
    const good = fakeFetch(real).fn;
    const calls: string[] = [];
    const fn: FetchFn = async (url, init) => {
      calls.push(url);
      return calls.length === 1 ? new Response("gone", { status: 404 }) : good(url, init);
    };
    const res = await pullModel(entry, { dir, fetch: fn });
    expect(res.url).toBe(entry.urls[1]);
    expect(await verifyFile(target(), entry)).toEqual({ ok: true });
  });

  it("no network: fails clearly", async () => {
    const fn: FetchFn = async () => {
      throw new TypeError("fetch failed", { cause: new Error("getaddrinfo ENOTFOUND huggingface.co") });
    };
    const err = await pullModel(entry, { dir, fetch: fn }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/could not connect \(fetch failed: getaddrinfo ENOTFOUND huggingface\.co\)/);
  });

  it("an existing verified file is kept without calling fetch", async () => {
    copyFileSync(modelPath(entry.file), target());
    const { fn, calls } = fakeFetch(real);
    const logs: string[] = [];
    const res = await pullModel(entry, { dir, fetch: fn, log: (l) => logs.push(l) });
    expect(res.action).toBe("present");
    expect(calls).toEqual([]);
    expect(logs.join("\n")).toMatch(/already present and verified/);
  });

  it("--force downloads a verified file again", async () => {
    copyFileSync(modelPath(entry.file), target());
    const { fn, calls } = fakeFetch(real);
    expect((await pullModel(entry, { dir, fetch: fn, force: true })).action).toBe("downloaded");
    expect(calls.length).toBe(1);
  });

  it.each([
    ["a flipped byte", (b: Uint8Array) => ((b[5]! ^= 1), b), /sha256 mismatch/],
    ["a short file", (b: Uint8Array) => b.subarray(0, 1000), /size mismatch: expected 1185376 bytes, got 1000/],
  ])("an existing file with %s is re-downloaded", async (_what, damage, reason) => {
    writeFileSync(target(), damage(real.slice()));
    const logs: string[] = [];
    const { fn, calls } = fakeFetch(real);
    const res = await pullModel(entry, { dir, fetch: fn, log: (l) => logs.push(l) });
    expect(res.action).toBe("downloaded");
    expect(calls.length).toBe(1);
    expect(logs[0]).toMatch(/does not verify/);
    expect(logs[0]).toMatch(reason);
    expect(await verifyFile(target(), entry)).toEqual({ ok: true });
  });

  it("an existing bad file with no network: fails clearly and says the file does not verify", async () => {
    writeFileSync(target(), "junk");
    const fn: FetchFn = async () => {
      throw new TypeError("fetch failed");
    };
    const err = await pullModel(entry, { dir, fetch: fn }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/could not connect/);
    expect((err as Error).message).toMatch(/does not verify and was left as it was/);
    expect(existsSync(`${target()}.part`)).toBe(false);
  });
});

describe("progress output", () => {
  const p = (received: number): Progress => ({ file: "m.gguf", received, total: 2 * 1048576, elapsedMs: 2000 });

  it("formats bytes/total, percent and rate", () => {
    expect(formatProgress(p(1048576))).toBe("m.gguf  1.00 MiB / 2.00 MiB  50.0%  512.00 KiB/s");
  });

  it("rewrites one line with \\r on a TTY and ends it with a newline", () => {
    let out = "";
    let t = 0;
    const pr = progressPrinter({ isTTY: true, write: (s) => (out += s) }, () => t);
    pr.update(p(1));
    t = 50;
    pr.update(p(2)); // throttled
    t = 200;
    pr.update(p(2 * 1048576));
    pr.finish();
    expect(out.split("\r").length).toBe(3);
    expect(out.endsWith("100.0%  1.00 MiB/s\n")).toBe(true);
    expect(out.slice(0, -1)).not.toContain("\n");
  });

  it("an unknown total shows bytes and rate only; a resumed part does not count towards the rate", () => {
    expect(formatProgress({ file: "m.gguf", received: 3 * 1048576, total: 0, elapsedMs: 1000 })).toBe("m.gguf  3.00 MiB  3.00 MiB/s");
    expect(formatProgress({ ...p(2 * 1048576), resumedFrom: 1048576 })).toBe("m.gguf  2.00 MiB / 2.00 MiB  100.0%  512.00 KiB/s");
  });

  it("prints occasional whole lines otherwise", () => {
    let out = "";
    const pr = progressPrinter({ isTTY: false, write: (s) => (out += s) });
    for (let r = 0; r <= 2 * 1048576; r += 4096) pr.update(p(r));
    pr.finish();
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBe(11);
    expect(out).not.toContain("\r");
  });
});

describe("model:pull CLI (no network)", () => {
  const run = promisify(execFile);
  const tsx = "node_modules/.bin/tsx";

  // Records every HTTP request a Node process makes (fetch and node:http), via diagnostics channels, into $NET_LOG.
  const recorder = (): { env: NodeJS.ProcessEnv; requests: () => string[] } => {
    const script = join(dir, "net-recorder.mjs");
    const log = join(dir, "net.log");
    writeFileSync(
      script,
      `import dc from "node:diagnostics_channel"; import { appendFileSync } from "node:fs";
const note = (url) => appendFileSync(process.env.NET_LOG, url + "\\n");
dc.subscribe("undici:request:create", ({ request }) => note(request.origin + request.path));
dc.subscribe("http.client.request.start", ({ request }) => note(request.host + request.path));`,
    );
    const env = { ...process.env, NODE_OPTIONS: `--import ${script}`, NET_LOG: log };
    return { env, requests: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
  };

  it("skips a present, verified file and makes no request", async () => {
    copyFileSync(modelPath(entry.file), target());
    const net = recorder();
    const { stdout } = await run(tsx, ["scripts/model-pull.ts", "--dir", dir], { env: net.env });
    expect(stdout).toMatch(/stories260K\.gguf: already present and verified/);
    expect(net.requests()).toEqual([]);
    // The recorder does see requests: a download attempt (to a closed loopback port) is logged.
    const url = `http://127.0.0.1:${await freePort()}/x/other.gguf`;
    await run(tsx, ["scripts/model-pull.ts", "--url", url, "--sha256", "0".repeat(64), "--dir", dir], { env: net.env }).catch(() => {});
    expect(net.requests()).toEqual([url]);
  });

  it("an unknown name lists the known names and exits 1", async () => {
    const err = (await run(tsx, ["scripts/model-pull.ts", "llama-70b", "--dir", dir]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/unknown model "llama-70b"; known models: stories260K/);
  });
});
