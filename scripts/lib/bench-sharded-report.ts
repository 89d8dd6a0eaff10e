// The sharded bench's JSON report and its Markdown table (docs/sharding.md's generated block renders these files).
import { machineInfo, workerdVersion, type BenchMachine } from "./bench-report";
import { BEGIN, END } from "./bench-render";
import type { ShardCounts, ShardedRow } from "./bench-sharded-row";

export const SHARDED_REPORT_FORMAT = "edge-llama-bench-sharded/1";

export interface ShardedReport {
  format: typeof SHARDED_REPORT_FORMAT;
  date: string;
  machine: BenchMachine;
  runtime: { node: string; v8: string; workerd: string | null; wrangler: string };
  settings: { backend: string; prefill: number; decode: number; runs: number; shard_sessions: number };
  rows: ShardedRow[];
}

export function shardedReport(settings: ShardedReport["settings"], rows: readonly ShardedRow[], wrangler: string, date = new Date()): ShardedReport {
  return {
    format: SHARDED_REPORT_FORMAT,
    date: date.toISOString(),
    machine: machineInfo(),
    runtime: { node: process.version, v8: process.versions.v8, workerd: workerdVersion(), wrangler },
    settings,
    rows: [...rows],
  };
}

/** Checks what the renderer reads; the error names the file and the field. */
export function parseShardedReport(text: string, source: string): ShardedReport {
  const r = JSON.parse(text) as ShardedReport;
  const fail = (what: string): never => {
    throw new Error(`${source}: not a sharded bench report (${what}); write one with npm run bench -- --sharded --json-out FILE`);
  };
  if (r?.format !== SHARDED_REPORT_FORMAT) fail(`format is not "${SHARDED_REPORT_FORMAT}"`);
  if (!Array.isArray(r.rows) || !r.settings || !r.machine) fail("rows, settings or machine");
  for (const [i, row] of r.rows.entries()) {
    for (const k of ["prefill_tokens_per_s", "decode_tokens_per_s"] as const) {
      if (!(row.node?.[k] > 0)) fail(`rows[${i}].node.${k}`);
      if (!(row.sharded?.[k] > 0)) fail(`rows[${i}].sharded.${k}`);
    }
  }
  return r;
}

const f1 = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 10 ? 1 : 2));
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** Catch-ups (the positions they ran again) and shard loads (their time) over a run's measured requests; "–" in reports made before they were counted. */
export function shardCountsCell(c: ShardCounts | undefined): string {
  if (!c) return "–";
  return `${c.catch_ups}${c.catch_ups ? ` (${c.replayed_tokens})` : ""} / ${c.loads}${c.loads ? ` (${(c.load_ms / 1000).toFixed(1)})` : ""}`;
}

/** The table lines of one report: one row per model, ratio columns against the single-process engine of the same run. */
export function shardedTable(r: ShardedReport): string[] {
  const head = [
    "model", "backend", "file MiB", "shards (stages)", "Worker scripts (isolates)", "largest shard MiB (plan / accounted)",
    "pp tok/s node", "pp tok/s sharded", "pp ×", "tg tok/s node", "tg tok/s sharded", "tg ×",
    "ms/token in shards", "ms per hop", "ms/token in all shards", "ms per call", "tg tok/s 2 sessions", "2 sessions ×",
    "catch-ups (positions) / shard loads (s)",
  ];
  const body = r.rows.map((x) => [
    x.model,
    x.backend,
    mib(x.file_bytes),
    // A decode step that calls fewer stages (greedy on a tied model: no embedding stage) shows both.
    x.decode_stages === undefined || x.decode_stages === x.stages ? `${x.shards} (${x.stages})` : `${x.shards} (${x.stages}; decode ${x.decode_stages})`,
    // Reports from before per-shard scripts ran every shard in the main Worker's one script and did not count isolates.
    `${x.shard_scripts ?? 1} (${x.isolates ?? "?"})`,
    `${mib(x.max_shard_plan_bytes)} / ${x.shard_memory.length ? mib(Math.max(...x.shard_memory.map((m) => m.reserved_bytes))) : "?"}`,
    f1(x.node.prefill_tokens_per_s),
    f1(x.sharded.prefill_tokens_per_s),
    `${(x.sharded.prefill_tokens_per_s / x.node.prefill_tokens_per_s).toFixed(2)}×`,
    f1(x.node.decode_tokens_per_s),
    f1(x.sharded.decode_tokens_per_s),
    `${(x.sharded.decode_tokens_per_s / x.node.decode_tokens_per_s).toFixed(2)}×`,
    x.shard_compute_ms_per_token === null || x.shard_persist_ms_per_token === null ? `reset in ${x.shard_resets ?? "?"} run(s)` : (x.shard_compute_ms_per_token + x.shard_persist_ms_per_token).toFixed(1),
    x.hop_overhead_ms === null ? "" : x.hop_overhead_ms.toFixed(2),
    // Reports from before these were recorded leave them empty.
    x.shard_all_ms_per_token == null ? "" : x.shard_all_ms_per_token.toFixed(1),
    x.call_overhead_ms == null ? "" : `${x.call_overhead_ms.toFixed(2)} (${x.calls_per_token!.toFixed(0)} calls)`,
    f1(x.two_sessions_decode_tokens_per_s),
    `${(x.two_sessions_decode_tokens_per_s / x.one_session_decode_tokens_per_s).toFixed(2)}×`,
    shardCountsCell(x.shard_counts),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), `|${head.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`, ...body.map(line)];
}

/** The generated block of docs/sharding.md: every report, oldest first, each under its caption. */
export function renderShardedBlock(runs: readonly { report: ShardedReport; source: string }[]): string {
  const sorted = [...runs].sort((a, b) => a.report.date.localeCompare(b.report.date));
  const note = "<!-- Generated by `npm run bench -- --sharded --render` from the JSON files linked below; edit those runs, not this block. -->";
  const parts = sorted.flatMap(({ report: r, source }) => {
    const s = r.settings;
    const date = r.date.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
    const caption =
      `**${date}** · ${r.machine.cpu}, ${r.machine.cores} cores · Node ${r.runtime.node}, workerd ${r.runtime.workerd ?? "?"} (wrangler ${r.runtime.wrangler} dev) · ` +
      `prefill ${s.prefill} tokens, decode ${s.decode}, median of ${s.runs} runs · [${source}](${source})`;
    return [caption, "", ...shardedTable(r), ""];
  });
  return [BEGIN, note, "", ...parts, END].join("\n");
}
