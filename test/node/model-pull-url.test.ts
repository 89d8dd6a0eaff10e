// model:pull --url against a loopback HTTP server with Range support: resume after a dropped connection, 200 restarts, mismatches, bad args.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pullModel, type Expected, type Progress } from "../../scripts/lib/download";
import { urlEntry } from "../../scripts/lib/model-catalog";

const body = Buffer.concat([Buffer.from("GGUF"), randomBytes(300_000 - 4)]);
const sha = createHash("sha256").update(body).digest("hex");

/** How the server answers the next requests; reset before each test. */
interface Behaviour {
  /** Honour Range requests with 206 (else always 200 with the whole file). */
  range: boolean;
  /** For the first request only: send this many body bytes, then drop the connection. */
  dropAfter?: number;
  /** Serve these bytes instead of `body`. */
  serve?: Buffer;
}
let behaviour: Behaviour;
let requests: { range: string | undefined; sent: number }[];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const data = behaviour.serve ?? body;
    const rec = { range: req.headers.range, sent: 0 };
    requests.push(rec);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    let start = 0;
    if (m && behaviour.range) {
      start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { "content-range": `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { "content-length": data.length - start, "content-range": `bytes ${start}-${data.length - 1}/${data.length}` });
    } else {
      res.writeHead(200, { "content-length": data.length });
    }
    const drop = requests.length === 1 ? behaviour.dropAfter : undefined;
    if (drop === undefined) {
      rec.sent = data.length - start;
      res.end(data.subarray(start));
      return;
    }
    rec.sent = drop;
    // Flush part of the body, then cut the socket as a flaky network would (the client sees a truncated body).
    res.write(data.subarray(start, start + drop), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "model-pull-url-"));
  behaviour = { range: true };
  requests = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const want = (over: Partial<Expected> = {}): Expected => ({ file: "tiny.gguf", urls: [`${base}/models/tiny.gguf`], sha256: sha, ...over });
const target = () => join(dir, "tiny.gguf");
const part = () => `${target()}.part`;
const fails = (p: Promise<unknown>) => p.then(() => expect.fail("expected a failure"), (e: Error) => e);

describe("pullModel over HTTP (loopback)", () => {
  it("downloads the whole file with no size pinned, taking the total from Content-Length", async () => {
    const progress: Progress[] = [];
    const res = await pullModel(want(), { dir, onProgress: (p) => progress.push(p) });
    expect(res.action).toBe("downloaded");
    expect(readFileSync(target()).equals(body)).toBe(true);
    expect(readdirSync(dir)).toEqual(["tiny.gguf"]);
    expect(requests).toEqual([{ range: undefined, sent: body.length }]);
    expect(progress.at(-1)).toMatchObject({ received: body.length, total: body.length, resumedFrom: 0 });
  });

  it("a dropped connection keeps the .part; the rerun continues it with a Range request and verifies the whole file", async () => {
    behaviour.dropAfter = 100_000;
    const err = await fails(pullModel(want(), { dir }));
    expect(err.message).toMatch(/the connection was lost after \d+ bytes/);
    expect(err.message).toMatch(/bytes are kept in .*tiny\.gguf\.part; run the same command again to resume/);
    expect(existsSync(target())).toBe(false);
    const kept = readFileSync(part());
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(100_000);
    expect(kept.equals(body.subarray(0, kept.length))).toBe(true);

    const logs: string[] = [];
    const progress: Progress[] = [];
    const res = await pullModel(want(), { dir, log: (l) => logs.push(l), onProgress: (p) => progress.push(p) });
    expect(res.action).toBe("downloaded");
    expect(requests[1]).toEqual({ range: `bytes=${kept.length}-`, sent: body.length - kept.length });
    expect(logs[0]).toBe(`tiny.gguf: resuming at byte ${kept.length} of ${body.length}`);
    expect(progress[0]!.resumedFrom).toBe(kept.length);
    expect(readFileSync(target()).equals(body)).toBe(true);
    expect(readdirSync(dir)).toEqual(["tiny.gguf"]);
  });

  it("a server that answers 200 to the Range request: the part is rewritten from byte 0", async () => {
    writeFileSync(part(), body.subarray(0, 50_000));
    behaviour.range = false;
    const logs: string[] = [];
    await pullModel(want({ bytes: body.length }), { dir, log: (l) => logs.push(l) });
    expect(requests).toEqual([{ range: "bytes=50000-", sent: body.length }]);
    expect(logs[0]).toMatch(/the server sent the whole file \(HTTP 200, no range support\); starting again from byte 0/);
    expect(readFileSync(target()).equals(body)).toBe(true);
  });

  it("a stale .part from other bytes fails the sha256 after resuming, and is fetched once more from byte 0", async () => {
    writeFileSync(part(), randomBytes(40_000));
    const logs: string[] = [];
    await pullModel(want(), { dir, log: (l) => logs.push(l) });
    expect(requests.map((r) => r.range)).toEqual(["bytes=40000-", undefined]);
    expect(logs.join("\n")).toMatch(/the resumed download did not verify \(sha256 mismatch.*\); starting again from byte 0/);
    expect(readFileSync(target()).equals(body)).toBe(true);
  });

  it("a .part longer than the server's file gets 416 and starts again", async () => {
    writeFileSync(part(), Buffer.concat([body, Buffer.from("extra")]));
    await pullModel(want(), { dir });
    expect(requests.map((r) => r.range)).toEqual([`bytes=${body.length + 5}-`, undefined]);
    expect(readFileSync(target()).equals(body)).toBe(true);
  });

  it("a complete .part that verifies is moved into place with no request", async () => {
    writeFileSync(part(), body);
    await pullModel(want({ bytes: body.length }), { dir });
    expect(requests).toEqual([]);
    expect(readdirSync(dir)).toEqual(["tiny.gguf"]);
  });

  it("sha256 mismatch: a clear error, and neither the file nor the .part is left", async () => {
    behaviour.serve = Buffer.from(body);
    behaviour.serve[123_456]! ^= 1;
    const err = await fails(pullModel(want(), { dir }));
    expect(err.message).toMatch(new RegExp(`sha256 mismatch: expected ${sha}, got [0-9a-f]{64}`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an HTML page instead of a GGUF fails at its first bytes, with a hint for Hugging Face /blob/ links", async () => {
    behaviour.serve = Buffer.from(`<!doctype html>${"x".repeat(5000)}`);
    const err = await fails(pullModel(want({ urls: [`${base}/r/blob/main/tiny.gguf`] }), { dir }));
    const link = `${base}/r/blob/main/tiny.gguf`;
    expect(err.message).toBe(
      `tiny.gguf: download failed: ${link}: not a GGUF file: it starts with "<!do"; for Hugging Face use the /resolve/ link, not /blob/.`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("size mismatch against --bytes: refused from the headers, no .part left", async () => {
    const err = await fails(pullModel(want({ bytes: body.length - 1 }), { dir }));
    expect(err.message).toMatch(`size mismatch: expected ${body.length - 1} bytes, the server announced ${body.length}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a resumed range whose total differs from --bytes is refused and the .part removed", async () => {
    writeFileSync(part(), body.subarray(0, 1000));
    const err = await fails(pullModel(want({ bytes: body.length + 7 }), { dir }));
    expect(err.message).toMatch(`size mismatch: expected ${body.length + 7} bytes, the server has ${body.length}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("Ctrl-C (abort) mid-body keeps the .part for the next run", async () => {
    const abort = new AbortController();
    const err = await fails(pullModel(want(), { dir, signal: abort.signal, onProgress: (p) => p.received > 100_000 && abort.abort() }));
    expect(err.message).toMatch(/download interrupted; \d+ bytes are kept in .*\.part/);
    expect(statSync(part()).size).toBeGreaterThan(100_000);
    await pullModel(want(), { dir });
    expect(requests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(target()).equals(body)).toBe(true);
  });
});

describe("urlEntry (--url arguments)", () => {
  const hex = "ab".repeat(32);
  it("takes the file name from the URL and lower-cases the hex", () => {
    expect(urlEntry({ url: "https://h.example/r/resolve/main/My-Model.Q4_0.gguf?download=1", sha256: hex.toUpperCase() })).toEqual({
      file: "My-Model.Q4_0.gguf",
      urls: ["https://h.example/r/resolve/main/My-Model.Q4_0.gguf?download=1"],
      sha256: hex,
    });
    expect(urlEntry({ url: "http://h/x", sha256: hex, name: "x.gguf", bytes: 5 })).toMatchObject({ file: "x.gguf", bytes: 5 });
  });
  it.each([
    [{ url: "http://h/a.gguf", sha256: undefined }, /--url needs --sha256/],
    [{ url: "http://h/a.gguf", sha256: "skip" }, /--sha256 must be 64 hex digits, got "skip"/],
    [{ url: "http://h/a.gguf", sha256: "a".repeat(63) }, /64 hex digits/],
    [{ url: "not a url", sha256: hex }, /absolute http\(s\) URL/],
    [{ url: "file:///etc/a.gguf", sha256: hex }, /http or https, got file:/],
    [{ url: "http://h/a.bin", sha256: hex }, /cannot take a \.gguf file name .*; pass --name/],
    [{ url: "http://h/a.gguf", sha256: hex, name: "../a.gguf" }, /plain file name ending in \.gguf/],
    [{ url: "http://h/a.gguf", sha256: hex, name: "sub/a.gguf" }, /plain file name/],
    [{ url: "http://h/a.gguf", sha256: hex, name: ".gguf" }, /plain file name/],
    [{ url: "http://h/a.gguf", sha256: hex, name: "a.bin" }, /plain file name/],
    [{ url: "http://h/%2e%2e%2Fa.gguf", sha256: hex }, /cannot take a \.gguf file name/],
    [{ url: "http://h/a.gguf", sha256: hex, bytes: -1 }, /--bytes must be a positive whole number/],
  ])("rejects %j", (req, msg) => {
    expect(() => urlEntry(req)).toThrow(msg);
  });
});

describe("model:pull --url CLI", () => {
  const run = promisify(execFile);
  const cli = (args: string[]) => run("node_modules/.bin/tsx", ["scripts/model-pull.ts", ...args, "--dir", dir]);
  const failure = (args: string[]) => cli(args).then(() => expect.fail("expected exit 1"), (e: { code: number; stderr: string }) => e);

  it("downloads and verifies; a second run makes no request", async () => {
    const { stdout } = await cli(["--url", `${base}/x/tiny.gguf`, "--sha256", sha]);
    expect(stdout).toMatch(/tiny\.gguf: downloaded and verified \(300000 bytes/);
    expect(readFileSync(target()).equals(body)).toBe(true);
    const again = await cli(["--url", `${base}/x/tiny.gguf`, "--sha256", sha]);
    expect(again.stdout).toMatch(/tiny\.gguf: already present and verified/);
    expect(requests.length).toBe(1);
  });

  it("resumes a .part left by an earlier run", async () => {
    writeFileSync(part(), body.subarray(0, 7000));
    const { stdout } = await cli(["--url", `${base}/x/tiny.gguf`, "--sha256", sha, "--bytes", String(body.length)]);
    expect(stdout).toMatch(`tiny.gguf: resuming at byte 7000 of ${body.length}`);
    expect(requests).toEqual([{ range: "bytes=7000-", sent: body.length - 7000 }]);
  });

  it.each([
    [["--url", "http://127.0.0.1:9/a.gguf"], /error: --url needs --sha256/],
    [["--url", "http://127.0.0.1:9/a.gguf", "--sha256", "xyz"], /error: --sha256 must be 64 hex digits/],
    [["--url", "http://127.0.0.1:9/a.gguf", "--sha256", "0".repeat(64), "--name", "/tmp/a.gguf"], /error: --name must be a plain file name/],
    [["stories260K", "--url", "http://127.0.0.1:9/a.gguf", "--sha256", "0".repeat(64)], /error: give a model NAME or --url, not both/],
    [["--sha256", "0".repeat(64)], /error: --sha256 goes with --url/],
  ])("%j exits 1 with a clear message and the usage", async (args, msg) => {
    const err = await failure(args);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(msg);
    expect(err.stderr).toMatch(/usage: npm run model:pull/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a sha256 mismatch exits 1 and leaves nothing behind", async () => {
    const err = await failure(["--url", `${base}/x/tiny.gguf`, "--sha256", "0".repeat(64)]);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/error: tiny\.gguf: download failed: .*sha256 mismatch: expected 0{64}/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
