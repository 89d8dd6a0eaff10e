// The local R2 bucket that `wrangler dev` reads: uploading a model file into it, with wrangler kept offline and quiet.
import { execFileSync } from "node:child_process";
import { basename, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
/** Keeps wrangler offline and quiet (no metrics, no cf fetch, no error reports). */
export const QUIET_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_ERROR_REPORTS: "false" };
/** Must match the [[r2_buckets]] entry of wrangler.toml. */
export const MODEL_BUCKET = "edge-llama-models";

/** Puts the file at `path` into the local bucket under `persistDir`, keyed by its file name; wrangler's stderr is kept for the error, or shown. */
export function putLocalModel(path: string, persistDir: string, stderr: "pipe" | "inherit" = "pipe"): void {
  execFileSync(WRANGLER, ["r2", "object", "put", `${MODEL_BUCKET}/${basename(path)}`, "--file", path, "--local", "--persist-to", persistDir], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", stderr],
    env: { ...process.env, ...QUIET_ENV },
  });
}
