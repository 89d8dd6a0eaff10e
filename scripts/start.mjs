// `npm start`: one command from a fresh clone to a running local service (install, kernels, default model, local R2, wrangler dev).
// Plain Node with no dependencies, because on a fresh clone nothing is installed yet when it starts.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// wrangler offline and quiet: no metrics, no cf fetch, no error reports; npm does not look for a newer npm on each step.
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  npm_config_update_notifier: "false",
};

function step(title, args) {
  console.log(`\n> ${title}: npm ${args.join(" ")}`);
  const r = spawnSync(npm, args, { cwd: ROOT, stdio: "inherit", env });
  if (r.signal === "SIGINT" || r.status === 130) process.exit(130); // Ctrl-C stops the service: not a failure
  if (r.status !== 0) {
    console.error(`npm start: "${title}" failed (exit ${r.status ?? r.signal}); fix the error above and run npm start again`);
    process.exit(r.status ?? 1);
  }
}

/** node_modules is missing, or older than package-lock.json (npm ci writes node_modules/.package-lock.json). */
function needsInstall() {
  const marker = join(ROOT, "node_modules/.package-lock.json");
  return !existsSync(marker) || statSync(marker).mtimeMs < statSync(join(ROOT, "package-lock.json")).mtimeMs;
}

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(`npm start: Node.js 22 or newer is required (this is ${process.version}); wrangler refuses older versions`);
  process.exit(1);
}
if (needsInstall()) step("install dependencies", ["ci", "--no-audit", "--no-fund"]);
// Skips the download when a verified copy is already in the model directory ($EDGE_LLAMA_MODELS, else ./models).
step("default model", ["run", "model:pull"]);
// `npm run dev` builds the kernels, uploads the model directory into the local R2 bucket, then runs wrangler dev.
step("local service", ["run", "dev", "--", ...process.argv.slice(2)]);
