// Starts `wrangler dev` on a free loopback port with its own persist directory (R2 seeded with the model), optionally from a snapshot of the tree: the e2e tests, the load test and the benches.
import { execSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { modelDir } from "./model-dir";
import { putLocalModel, QUIET_ENV, ROOT, WRANGLER } from "./local-r2";

export interface DevServerOptions {
  /** Persist directory; a fresh temp dir when omitted (removed by `dispose`). */
  persistDir?: string;
  /** `--var NAME:VALUE` overrides (MODEL_NAME, API_KEY, N_CTX, KV_PAGE_BYTES, ...). */
  vars?: Record<string, string>;
  /** Model files (in the model directory, or absolute paths) to upload into the local R2 bucket under their base names; default the served MODEL_NAME. */
  models?: string[];
  /** Milliseconds to wait for `GET /health`. */
  startTimeoutMs?: number;
  /**
   * The project directory wrangler runs in: a snapshot keeps edits in the checkout from reloading it mid-run. Default
   * $EDGE_LLAMA_DEV_ROOT, else the repository.
   */
  root?: string;
  /**
   * Wrangler configs (`-c` each, relative to `root` or absolute): the main Worker first, then auxiliary Workers such as
   * the shard scripts of `npm run shards:config`, all in one `wrangler dev`. Default: the root's wrangler.toml alone.
   */
  configs?: string[];
}

export interface DevServer {
  readonly url: string;
  readonly port: number;
  readonly persistDir: string;
  /** The workerd child's pid tree root (the wrangler process). */
  readonly pid: number | undefined;
  /** Everything wrangler printed since the last (re)start. */
  logs(): string;
  /** Graceful stop (SIGTERM to the process group), waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (wrangler and workerd), waits for exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and persist directory. */
  restart(): Promise<void>;
  /** Stops and removes a temp persist directory this harness created. */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Uploads model files into the local R2 bucket under `persistDir` (what `npm run seed:r2` does for `npm run dev`). */
export function seedModels(persistDir: string, files: string[]): void {
  for (const file of files) {
    const path = isAbsolute(file) ? file : join(modelDir(), file);
    if (!existsSync(path)) throw new Error(`model ${path} not found (set EDGE_LLAMA_MODELS)`);
    putLocalModel(path, persistDir);
  }
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const ownDir = opts.persistDir === undefined;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "edge-llama-e2e-"));
  const vars = opts.vars ?? {};
  seedModels(persistDir, opts.models ?? [vars.MODEL_NAME ?? "stories260K.gguf"]);
  let port = await freePort();
  let url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = "";

  const launch = async (): Promise<void> => {
    output = "";
    const args = ["dev", ...(opts.configs ?? []).flatMap((c) => ["-c", c]), "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistDir, "--inspector-port", String(await freePort())];
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    // detached: its own process group, so kill() reaches workerd too.
    child = spawn(WRANGLER, args, { cwd: opts.root ?? (process.env.EDGE_LLAMA_DEV_ROOT || ROOT), detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...QUIET_ENV, NO_COLOR: "1" } });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output}`);
      try {
        const r = await fetch(`${url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await signal("SIGKILL");
    throw new Error(`wrangler dev did not answer /health within ${opts.startTimeoutMs ?? 60_000} ms:\n${output}`);
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    try {
      process.kill(-c.pid!, sig);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    // workerd may outlive wrangler for a moment; make sure the group is gone before the port is reused.
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };

  // A free port can be taken by another process (another dev server, workerd's own ports) before wrangler binds it:
  // the first start then tries fresh ports. Restarts keep the port, so the server's URL stays the same.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
      port = await freePort();
      url = `http://127.0.0.1:${port}`;
    }
  }
  return {
    url,
    port,
    persistDir,
    get pid() {
      return child?.pid;
    },
    logs: () => output,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    restart: async () => {
      await signal("SIGTERM");
      await launch();
    },
    dispose: async () => {
      await signal("SIGTERM");
      if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/**
 * A copy of the project for `wrangler dev` to run from (it reloads on any source change, and a long run must not pick
 * up an edit made in the checkout meanwhile): the committed tree (`git archive HEAD`) or the checkout as it is now
 * (sources, assets, configs), with the built kernels copied and node_modules linked. Remove it when done.
 */
export function snapshot(prefix: string, from: "HEAD" | "checkout"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (from === "HEAD") execSync(`git -C ${JSON.stringify(ROOT)} archive HEAD | tar -x -C ${JSON.stringify(dir)}`);
  else for (const p of ["src", "public", "scripts", "wrangler.toml", "package.json", "tsconfig.json", "tsconfig.base.json"]) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  cpSync(join(ROOT, "build/kernels"), join(dir, "build/kernels"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}
