// What a Durable Object → Durable Object RPC costs by itself: a minimal Worker pair (caller object, callee object in
// another script and in the same one) under `wrangler dev -c a -c b` and under workerd alone, alternated variants.
// Run: `npx tsx scripts/lib/bench-sharded-probe.ts [--rounds N] [--calls N] [--runner wrangler,wrangler-no-observability,workerd] [--repeat N]`.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "./dev-server";
import { QUIET_ENV, ROOT, WRANGLER } from "./local-r2";

/** The callee: every way a hop can differ from an empty call (payload, storage, logging, a result envelope). */
const CALLEE = `
import { DurableObject } from "cloudflare:workers";
export class Callee extends DurableObject {
  async ping() { return 0; }
  async echo(buf) { return buf.byteLength; }
  async rows(n) { return new ArrayBuffer(n); }
  async envelope(n, buf) { return { ok: true, value: { x: buf, logits: n ? new ArrayBuffer(n) : undefined, computeMs: 0, persistMs: 0 } }; }
  async sql() { return this.ctx.storage.sql.exec("SELECT 1 AS one").one().one; }
  async put() { await this.ctx.storage.put("k", 1); return 1; }
  async putNoWait() { this.ctx.storage.put("k", 1); return 1; }
  async log() { console.log("probe hop"); return 1; }
  async step(req) { await Promise.resolve(); return { ok: true, value: { x: req.x, computeMs: 0.5, persistMs: 0 } }; }
  async spin(n) { let x = 0; for (let i = 0; i < n; i++) x = (x + Math.sqrt(i)) % 1e9; return x; }
  async bcw() { await this.ctx.blockConcurrencyWhile(async () => {}); return 1; }
}
export default { fetch: () => new Response("probe callee") };
`;

/** The caller object runs the variants in rounds, alternated, and reports the mean ms per call of each. */
const CALLER = `
import { DurableObject } from "cloudflare:workers";
export { Callee } from "./callee.js";
export class Caller extends DurableObject {
  async run(rounds, calls) {
    const env = this.env;
    const remote = () => env.REMOTE.getByName("callee");
    const local = () => env.LOCAL.getByName("callee");
    const r = remote(), l = local();
    const r3 = [0, 1, 2].map((i) => env.REMOTE.getByName("callee-" + i));
    const row = new ArrayBuffer(8192);
    const SPIN = 200000;
    // A forward step's argument as the session sends it: the shard's spec (with its tensor names), session key, tokens, x.
    const spec = { index: 3, embedRows: null, layers: [2, 4], headRows: null, tensors: Array.from({ length: 18 }, (_, i) => "blk." + (2 + (i % 2)) + ".attn_q" + i + ".weight"), weightBytes: 1, kvBytes: 2, bufferBytes: 3, totalBytes: 6 };
    const req = (x) => ({ spec, session: "0123456789abcdef".repeat(4), nCtx: 128, pos0: 40, tokens: [1234], x, allLogits: false, persist: true });
    const variants = {
      "remote ping, cached stub": () => r.ping(),
      "remote ping, stub per call (getByName)": () => remote().ping(),
      "remote ping, idFromName+get per call": () => env.REMOTE.get(env.REMOTE.idFromName("callee")).ping(),
      "same-script ping, cached stub": () => l.ping(),
      "remote, 8 KiB argument": () => r.echo(row),
      "remote, 513 KB returned": () => r.rows(513024),
      "remote, 171 KB returned": () => r.rows(171008),
      "remote, result envelope with 8 KiB": () => r.envelope(0, row),
      "remote, forward-shaped request and result (8 KiB x)": () => r.step(req(row)),
      "remote, forward-shaped request with a fresh stub per call": () => remote().step(req(row)),
      "remote, sql SELECT in the hop": () => r.sql(),
      "remote, storage.put awaited (output gate)": () => r.put(),
      "remote, console.log in the hop": () => r.log(),
      "remote, blockConcurrencyWhile in the hop": () => r.bcw(),
      "remote, 3 objects Promise.all": () => Promise.all(r3.map((s) => s.ping())),
      // Compute in 3 objects (each its own isolate's turn): one after another against Promise.all. Equal when the
      // process runs every isolate on one thread (parallel row slices then compute in turn, not at once).
      "remote, 3 objects computing one after another": async () => { for (const s of r3) await s.spin(SPIN); },
      "remote, 3 objects computing, Promise.all": () => Promise.all(r3.map((s) => s.spin(SPIN))),
    };
    const names = Object.keys(variants);
    const total = Object.fromEntries(names.map((n) => [n, 0]));
    for (const n of names) for (let i = 0; i < 3; i++) await variants[n](); // warm: objects exist
    for (let k = 0; k < rounds; k++) {
      for (const n of names) {
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await variants[n]();
        total[n] += performance.now() - t0;
      }
    }
    return Object.fromEntries(names.map((n) => [n, total[n] / (rounds * calls)]));
  }
}
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    if (u.pathname !== "/run") return new Response("ok");
    const rounds = Number(u.searchParams.get("rounds") ?? 10), calls = Number(u.searchParams.get("calls") ?? 20);
    return Response.json(await env.CALLER.getByName("caller").run(rounds, calls));
  },
};
`;

const COMPAT = { compatibility_date: "2026-11-01" };

function writeProbe(dir: string): void {
  writeFileSync(join(dir, "callee.js"), CALLEE);
  writeFileSync(join(dir, "caller.js"), CALLER);
  const callerCfg = {
    name: "probe-caller",
    main: "caller.js",
    ...COMPAT,
    durable_objects: { bindings: [{ name: "CALLER", class_name: "Caller" }, { name: "LOCAL", class_name: "Callee" }, { name: "REMOTE", class_name: "Callee", script_name: "probe-callee" }] },
    migrations: [{ tag: "v1", new_sqlite_classes: ["Caller", "Callee"] }],
  };
  const calleeCfg = { name: "probe-callee", main: "callee.js", ...COMPAT, durable_objects: { bindings: [{ name: "SELF", class_name: "Callee" }] }, migrations: [{ tag: "v1", new_sqlite_classes: ["Callee"] }] };
  writeFileSync(join(dir, "caller.jsonc"), JSON.stringify(callerCfg, null, 2));
  writeFileSync(join(dir, "callee.jsonc"), JSON.stringify(calleeCfg, null, 2));
}

async function waitFor(url: string, ms: number, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`probe did not start:\n${output()}`);
}

/** Starts the pair under `wrangler dev -c caller -c callee` (as `npm run dev:sharded` starts ours); returns its URL and a stop. */
async function underWrangler(dir: string, observability: boolean): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const args = ["dev", "-c", "caller.jsonc", "-c", "callee.jsonc", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(dir, "state"), "--inspector-port", String(await freePort())];
  const child = spawn(WRANGLER, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...QUIET_ENV, NO_COLOR: "1", X_LOCAL_OBSERVABILITY: String(observability) } });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  };
  try {
    await waitFor(`${url}/health`, 120_000, () => out);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}

/** The same pair in wrangler's own workerd binary with a hand-written config: no wrangler, no miniflare, no inspector. */
async function underWorkerd(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const worker = (name: string, classes: string[], bindings: string) => `const ${name} :Workerd.Worker = (
  modules = [ (name = "caller.js", esModule = embed "caller.js"), (name = "callee.js", esModule = embed "callee.js") ],
  compatibilityDate = "${COMPAT.compatibility_date}",
  durableObjectNamespaces = [ ${classes.map((c) => `(className = "${c}", uniqueKey = "${name}-${c}", enableSql = true)`).join(", ")} ],
  durableObjectStorage = (localDisk = "state"),
  bindings = [ ${bindings} ],
);`;
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "probe-caller", worker = .callerW), (name = "probe-callee", worker = .calleeW), (name = "state", disk = (path = "${join(dir, "wd-state")}", writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "probe-caller") ],
);
${worker("callerW", ["Caller", "Callee"], `(name = "CALLER", durableObjectNamespace = "Caller"), (name = "LOCAL", durableObjectNamespace = "Callee"), (name = "REMOTE", durableObjectNamespace = (className = "Callee", serviceName = "probe-callee"))`)}
${worker("calleeW", ["Callee"], `(name = "SELF", durableObjectNamespace = "Callee")`)}
`;
  mkdirSync(join(dir, "wd-state"), { recursive: true });
  writeFileSync(join(dir, "probe.capnp"), capnp);
  const bin = join(ROOT, "node_modules/wrangler/node_modules/workerd/bin/workerd");
  const child = spawn(existsSync(bin) ? bin : join(ROOT, "node_modules/.bin/workerd"), ["serve", "probe.capnp", "--experimental"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
  };
  try {
    await waitFor(`${url}/health`, 60_000, () => out);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" }, calls: { type: "string", default: "20" }, runner: { type: "string", default: "all" }, repeat: { type: "string", default: "1" } } });
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-rpc-probe-"));
  writeProbe(dir);
  // wrangler dev as wrangler starts it (local observability on), with X_LOCAL_OBSERVABILITY=false, and workerd alone;
  // --repeat cycles through them again (the machine's load changes between runs).
  const set = values.runner === "all" ? ["wrangler", "wrangler-no-observability", "workerd"] : values.runner!.split(",");
  const runners = Array.from({ length: Number(values.repeat) }, () => set).flat();
  try {
    for (const runner of runners) {
      const srv = runner === "workerd" ? await underWorkerd(dir) : await underWrangler(dir, runner === "wrangler");
      try {
        const r = (await (await fetch(`${srv.url}/run?rounds=${values.rounds}&calls=${values.calls}`)).json()) as Record<string, number>;
        console.log(`[rpc-probe] ${runner} (${values.rounds} alternated rounds of ${values.calls} calls; mean ms per call)`);
        for (const [k, v] of Object.entries(r)) console.log(`  ${v.toFixed(3).padStart(8)}  ${k}`);
      } finally {
        await srv.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) await main();
