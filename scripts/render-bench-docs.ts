// `npm run docs:bench -- FILE.json...`: renders bench reports into docs/benchmarks.md between its bench markers.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseFlags, UsageError } from "./lib/args";
import { parseReport, renderBlock, replaceBlock } from "./lib/bench-render";

const USAGE = `usage: npm run docs:bench -- [FILE.json ...] [--doc docs/benchmarks.md] [--check]
  Renders each report (npm run bench -- --json-out FILE) as one table, oldest first, into the document's
  <!-- bench:begin --> … <!-- bench:end --> block. Without files: every docs/bench/*.json.
  --check: write nothing; exit 1 if the document's block differs from what the files render.`;

function main(): void {
  const { flags, positional } = parseFlags(process.argv.slice(2), { doc: "string", check: "boolean", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const doc = resolve(flags.doc ?? "docs/benchmarks.md");
  const files = positional.length ? positional : readdirSync("docs/bench").filter((f) => f.endsWith(".json")).map((f) => join("docs/bench", f));
  if (!files.length) throw new UsageError("no bench reports given and none in docs/bench/");
  const runs = files.map((f) => ({ report: parseReport(readFileSync(f, "utf8"), f), source: relative(dirname(doc), resolve(f)) }));
  const before = readFileSync(doc, "utf8");
  const after = replaceBlock(before, renderBlock(runs));
  if (flags.check) {
    if (after !== before) {
      console.error(`${relative(".", doc)} is out of date: run npm run docs:bench -- ${files.join(" ")}`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(doc, after);
  console.error(`${relative(".", doc)}: ${runs.length} run(s), ${runs.reduce((n, r) => n + r.report.rows.length, 0)} rows`);
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(e instanceof UsageError ? 2 : 1);
}
