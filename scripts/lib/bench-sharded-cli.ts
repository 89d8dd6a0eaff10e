// The --sharded mode of `npm run bench`: runs bench-sharded.ts and writes its report, or renders the reports into docs/sharding.md.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { replaceBlock } from "./bench-render";
import { benchSharded, OBSERVABILITY_ENV, SHARDED_FULL, SHARDED_QUICK } from "./bench-sharded";
import { parseShardedReport, renderShardedBlock, shardedReport, shardedTable } from "./bench-sharded-report";

export const SHARDED_REPORTS = "docs/bench-sharded";
export const SHARDED_DOC = "docs/sharding.md";

export interface ShardedCliFlags {
  quick?: boolean;
  models?: string;
  backends?: string;
  prefill?: number;
  decode?: number;
  runs?: number;
  json?: boolean;
  "json-out"?: string;
  render?: boolean;
  "one-script"?: boolean;
}

/** The generated block of docs/sharding.md as the committed reports render it. */
export function renderShardedDoc(doc: string, dir = SHARDED_REPORTS): string {
  const runs = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ report: parseShardedReport(readFileSync(join(dir, f), "utf8"), f), source: `bench-sharded/${f}` }));
  return replaceBlock(doc, renderShardedBlock(runs));
}

export async function shardedCli(flags: ShardedCliFlags, log: (line: string) => void): Promise<void> {
  if (flags.render) {
    writeFileSync(SHARDED_DOC, renderShardedDoc(readFileSync(SHARDED_DOC, "utf8")));
    log(`${SHARDED_DOC}: rendered from ${SHARDED_REPORTS}/*.json`);
    return;
  }
  const quick = flags.quick === true;
  const backend = flags.backends?.split(",")[0]?.trim() || "wasm-relaxed";
  const settings = { backend, prefill: flags.prefill ?? (quick ? 32 : 64), decode: flags.decode ?? (quick ? 16 : 32), runs: flags.runs ?? (quick ? 2 : 3), shard_sessions: 2 };
  const models = flags.models ? flags.models.split(",").map((s) => s.trim()) : quick ? SHARDED_QUICK : SHARDED_FULL;
  // X_LOCAL_OBSERVABILITY=true measures with wrangler dev's local observability on (its default; off otherwise).
  const observability = process.env[OBSERVABILITY_ENV] === "true";
  const rows = await benchSharded({ models, ...settings, oneScript: flags["one-script"] === true, observability, log });
  const wrangler = (createRequire(import.meta.url)("wrangler/package.json") as { version: string }).version;
  const report = shardedReport(settings, rows, wrangler);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (flags["json-out"]) {
    writeFileSync(flags["json-out"], json);
    log(`report written to ${flags["json-out"]}`);
  }
  if (flags.json) process.stdout.write(json);
  else console.log(shardedTable(report).join("\n"));
}
