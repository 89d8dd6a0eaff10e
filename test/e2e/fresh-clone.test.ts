// `npm start` from a fresh clone with no model hub: the committed default model verifies offline and the service answers.
//
// What this covers: the set-up path of the README's quick start (`npm start`) on the committed HEAD (a `git clone`,
// so uncommitted work is not tested), with EDGE_LLAMA_MODELS unset and every HTTP(S) proxy variable pointing at a
// closed loopback port, so a request to a model hub fails instead of leaving the machine. A diagnostics-channel
// recorder in every Node process (NODE_OPTIONS) logs each HTTP request, so "model:pull made no request" is checked,
// not assumed. What it does not cover: `npm ci` (node_modules is a symlink to this checkout's, see below) and
// `npm test` inside the clone (minutes; CI runs `npm test` on its own fresh checkout).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/dev-server";
import { ROOT } from "../../scripts/lib/local-r2";

const MODEL = "stories260K.gguf";
const SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
const LOOPBACK = /^(https?:\/\/)?(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;

// Appends "ARGV<TAB>URL" for each HTTP request of the Node process it is loaded into (fetch and node:http).
const RECORDER = `import dc from "node:diagnostics_channel";
import { appendFileSync } from "node:fs";
const who = process.argv.slice(1).join(" ");
const note = (url) => appendFileSync(process.env.EDGE_LLAMA_NET_LOG, who + "\\t" + url + "\\n");
dc.subscribe("undici:request:create", ({ request }) => note(request.origin + request.path));
dc.subscribe("http.client.request.start", ({ request }) => note(request.protocol + "//" + request.host + request.path));
`;

describe("fresh clone, no model hub", () => {
  const work = mkdtempSync(join(tmpdir(), "edge-llama-clone-"));
  const clone = join(work, "repo");
  let child: ChildProcess | undefined;

  afterAll(async () => {
    await stopGroup(child);
    rmSync(work, { recursive: true, force: true });
  });

  it("npm start verifies the committed model without a request and serves a completion", { timeout: 170_000 }, async () => {
    // safe.directory: a CI checkout owned by another user would otherwise be refused as "dubious ownership".
    execFileSync("git", ["-c", `safe.directory=${ROOT}`, "clone", "--quiet", ROOT, clone], { stdio: "pipe" });
    const model = join(clone, "models", MODEL);
    expect(existsSync(model), `${MODEL} is not committed at models/${MODEL}`).toBe(true);
    expect(statSync(model).size).toBe(1_185_376);

    // node_modules: a symlink to this checkout's installed tree instead of `npm ci` (minutes, and it needs the
    // registry). start.mjs runs `npm ci` when node_modules/.package-lock.json is older than package-lock.json, and a
    // fresh clone's lockfile is brand new, so the clone's lockfile is dated back; `npm ci` must never run through the
    // symlink (it would empty this checkout's node_modules).
    symlinkSync(join(ROOT, "node_modules"), join(clone, "node_modules"), "dir");
    const marker = statSync(join(ROOT, "node_modules", ".package-lock.json"));
    const old = new Date(marker.mtimeMs - 60_000);
    utimesSync(join(clone, "package-lock.json"), old, old);

    const netLog = join(work, "net.log");
    const recorder = join(work, "net-recorder.mjs");
    writeFileSync(recorder, RECORDER);
    const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there: a proxied request is refused at once
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${recorder}`.trim(),
      EDGE_LLAMA_NET_LOG: netLog,
      // Node's fetch honours these only with NODE_USE_ENV_PROXY=1 (Node >= 22.21); npm and curl-like tools always do.
      NODE_USE_ENV_PROXY: "1",
      HTTPS_PROXY: closed,
      HTTP_PROXY: closed,
      https_proxy: closed,
      http_proxy: closed,
      NO_PROXY: "127.0.0.1,localhost,::1",
      no_proxy: "127.0.0.1,localhost,::1",
      NO_COLOR: "1",
    };
    delete env.EDGE_LLAMA_MODELS; // the default: ./models of the clone

    const port = await freePort();
    const args = ["scripts/start.mjs", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort())];
    // detached: start.mjs, npm, wrangler and workerd share one new process group, so stopGroup reaches them all.
    child = spawn(process.execPath, args, { cwd: clone, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 150_000;
    let health: { model?: string } | undefined;
    while (!health) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not answer /health in time:\n${output}`);
      health = await fetch(`${url}/health`).then(
        (r) => (r.ok ? (r.json() as Promise<{ model?: string }>) : undefined),
        () => undefined, // not listening yet
      );
      if (!health) await new Promise((r) => setTimeout(r, 500));
    }
    expect(health.model).toBe(MODEL);

    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 8, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; choices: { text: string }[] };
    expect(body.model).toBe(MODEL);
    // Greedy stories260K (llama.cpp gives the same): proof that the committed file is the real model.
    expect(body.choices[0]!.text).toMatch(/^, there was a little girl/);

    // The set-up path: no install, and model:pull found the verified copy in the clone's ./models.
    expect(output).not.toContain("install dependencies");
    expect(output).toContain(`${MODEL}: already present and verified (1185376 bytes, sha256 ${SHA256.slice(0, 12)}…) at ${model}`);
    expect(output).toMatch(`r2 edge-llama-models/${MODEL}: uploading`);

    const requests = existsSync(netLog)
      ? readFileSync(netLog, "utf8").trim().split("\n").map((l) => l.split("\t") as [string, string])
      : [];
    expect(requests.length, "the recorder saw wrangler's own loopback requests, so it was loaded").toBeGreaterThan(0);
    // model:pull made no request at all; no process asked for a model hub (or anything but the npm registry, where
    // wrangler looks for a newer wrangler and shrugs when it cannot reach it).
    expect(requests.filter(([who]) => who.includes("model-pull"))).toEqual([]);
    const outside = requests.filter(([, u]) => !LOOPBACK.test(u));
    expect(outside.filter(([, u]) => !u.startsWith("https://registry.npmjs.org/"))).toEqual([]);
  });
});

/** SIGTERM to the whole process group, SIGKILL after 10 s, and a last SIGKILL for any straggler (workerd). */
async function stopGroup(c: ChildProcess | undefined): Promise<void> {
  if (!c?.pid) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-c.pid!, sig);
    } catch {
      // already gone
    }
  };
  if (c.exitCode === null && c.signalCode === null) {
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  signal("SIGKILL");
}
