// `wrangler deploy --dry-run` builds the deployable bundle offline: it must succeed, ship both kernel builds and the assets, and stay small.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const MiB = 2 ** 20;
// Workers' script size limits: 3 MiB compressed on the free plan (the strictest), 64 MiB uncompressed.
const FREE_PLAN_COMPRESSED = 3 * MiB;
const UNCOMPRESSED = 64 * MiB;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("wrangler deploy --dry-run", () => {
  const outdir = mkdtempSync(join(tmpdir(), "edge-llama-deploy-"));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("bundles the Worker, both kernel builds and the static assets under the size limits", () => {
    const run = spawnSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_ERROR_REPORTS: "false", NO_COLOR: "1" },
    });
    const log = run.stdout + run.stderr; // wrangler reports the assets on stderr
    expect(run.status, log).toBe(0);
    expect(log).toContain("--dry-run: exiting now.");
    // The playground and docs ship as assets (wrangler's count may include its own entries; never fewer than ours).
    const assets = Number(/Read (\d+) files from the assets directory/.exec(log)?.[1] ?? 0);
    expect(assets).toBeGreaterThanOrEqual(filesUnder(join(ROOT, "public")).length);

    // What is uploaded as the script: the JS bundle and the .wasm modules (source maps stay local).
    const modules = readdirSync(outdir).filter((f) => f.endsWith(".js") || f.endsWith(".wasm"));
    expect(modules.filter((f) => f.endsWith("-simd128.wasm"))).toHaveLength(1);
    expect(modules.filter((f) => f.endsWith("-relaxed.wasm"))).toHaveLength(1);
    const bytes = modules.map((f) => readFileSync(join(outdir, f)));
    const raw = bytes.reduce((n, b) => n + b.byteLength, 0);
    const gzip = bytes.reduce((n, b) => n + gzipSync(b).byteLength, 0);
    console.log(`deploy bundle: ${modules.length} modules, ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip (index.js ${(statSync(join(outdir, "index.js")).size / 1024).toFixed(1)} KiB)`);
    expect(raw).toBeLessThan(UNCOMPRESSED);
    expect(gzip).toBeLessThan(FREE_PLAN_COMPRESSED);
  });
});
