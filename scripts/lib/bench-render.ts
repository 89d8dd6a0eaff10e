// Renders bench reports (npm run bench -- --json-out) into Markdown tables between the docs' bench markers.
import { BENCH_REPORT_FORMAT, type BenchReport, type BenchReportRow } from "./bench-report";
import { pairedRatioFor, ratioCell } from "./bench-pairing";

export const BEGIN = "<!-- bench:begin -->";
export const END = "<!-- bench:end -->";

/** The backend name of rows measured by llama.cpp in the same run (the other engine we compare with). */
export const LLAMA_CPP = "llama.cpp";

/**
 * The llama.cpp row a row of ours is divided by: same model and type, measured beside that row's runtime (a runtime
 * "llama.cpp (…) beside workerd" for workerd rows), else the llama.cpp row alternated with the Node rows (older
 * reports had only those).
 */
export function llamaCppRowFor<R extends BenchReportRow>(rows: readonly R[], x: R): R | undefined {
  if (x.backend === LLAMA_CPP) return undefined;
  const same = (y: R) => y.backend === LLAMA_CPP && y.model === x.model && y.type === x.type;
  const kind = x.runtime.split(" ")[0];
  return rows.find((y) => same(y) && y.runtime.endsWith(` beside ${kind}`)) ?? rows.find((y) => same(y) && !y.runtime.includes(" beside "));
}

/** Checks the parts of a report the renderer reads; the error names the file and the field. */
export function parseReport(text: string, source: string): BenchReport {
  const r = JSON.parse(text) as BenchReport;
  const fail = (what: string) => {
    throw new Error(`${source}: not a bench report (${what}); write one with npm run bench -- --json-out FILE`);
  };
  if (r?.format !== BENCH_REPORT_FORMAT) fail(`format is not "${BENCH_REPORT_FORMAT}"`);
  if (typeof r.date !== "string" || Number.isNaN(Date.parse(r.date))) fail("date");
  if (!r.machine || !Array.isArray(r.machine.cpu_flags)) fail("machine");
  if (!r.runtime || typeof r.runtime.node !== "string") fail("runtime");
  if (!r.settings) fail("settings");
  if (!Array.isArray(r.rows)) fail("rows");
  for (const [i, row] of r.rows.entries()) {
    for (const k of ["model", "type", "backend", "runtime"] as const) if (typeof row[k] !== "string") fail(`rows[${i}].${k}`);
    for (const k of ["prefill_tokens_per_s", "decode_tokens_per_s"] as const) if (!(typeof row[k] === "number" && row[k] > 0)) fail(`rows[${i}].${k}`);
    if (row.paired_ratio !== undefined) {
      for (const phase of ["prefill", "decode"] as const) {
        for (const k of ["median", "min", "max"] as const) {
          const v = row.paired_ratio?.[phase]?.[k];
          if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) fail(`rows[${i}].paired_ratio.${phase}.${k}`);
        }
      }
    }
  }
  return r;
}

const tokS = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : "");
const mb = (b: number | null | undefined) => (b == null ? "" : (b / 1e6).toFixed(2));

/** The caption line of one run: when, on what, with which engines and settings, and the file it came from. */
export function caption(r: BenchReport, source: string): string {
  const date = r.date.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
  const m = r.machine;
  const engines = Object.entries(r.runtime)
    .filter(([k, v]) => v && k !== "v8")
    .map(([k, v]) => (k === "node" ? `Node ${v} (V8 ${r.runtime.v8})` : `${k} ${v}`));
  const s = r.settings;
  // Only a cache other than f32 (the default, and what reports without kv_type ran) is named.
  const kv = s.kv_type && s.kv_type !== "f32" ? `, our KV cache ${s.kv_type}` : "";
  return (
    `**${date}** · ${m.cpu}, ${m.cores} cores, flags: ${m.cpu_flags.join(" ") || "none reported"} · ${engines.join(", ")} · ` +
    `prefill ${s.prefill} tokens (batches of ${s.prefill_batch}), decode ${s.decode}${kv}, median of ${s.runs} runs after ${s.warmup} warm-up · [${source}](${source})`
  );
}

/**
 * One run's table. Ratio columns compare rows of this run only: to ref (same model, type and runtime) and to llama.cpp
 * (the paired ratio, then the ratio of the medians in parentheses; see ratioCell).
 */
export function renderRun(r: BenchReport, source: string): string {
  const rows = r.rows;
  const same = (a: BenchReportRow, b: BenchReportRow) => a.model === b.model && a.type === b.type;
  const refOf = (x: BenchReportRow) => rows.find((y) => y.backend === "ref" && same(x, y) && y.runtime === x.runtime);
  const cppOf = (x: BenchReportRow) => llamaCppRowFor(rows, x);
  const hasRef = rows.some((x) => x.backend === "ref");
  const hasCpp = rows.some((x) => x.backend === LLAMA_CPP);
  const head = ["model", "type", "backend", "runtime", "pp tok/s", "tg tok/s", "pp/tg"];
  if (hasRef) head.push("pp × ref", "tg × ref");
  if (hasCpp) head.push("pp ours/llama.cpp paired (medians)", "tg ours/llama.cpp paired (medians)");
  head.push("pp+tg tokens", "runs", "weights MB", "peak MB");
  const body = rows.map((x) => {
    const cells = [x.model, x.type, x.backend, x.runtime, tokS(x.prefill_tokens_per_s), tokS(x.decode_tokens_per_s), ratio(x.prefill_tokens_per_s, x.decode_tokens_per_s)];
    const ref = x.backend === "ref" ? undefined : refOf(x);
    if (hasRef) cells.push(ratio(x.prefill_tokens_per_s, ref?.prefill_tokens_per_s), ratio(x.decode_tokens_per_s, ref?.decode_tokens_per_s));
    const cpp = cppOf(x);
    const paired = cpp ? pairedRatioFor(rows, x, cpp) : null;
    if (hasCpp) {
      cells.push(
        ratioCell(x.prefill_tokens_per_s, cpp?.prefill_tokens_per_s, paired?.prefill, "×", "⚠"),
        ratioCell(x.decode_tokens_per_s, cpp?.decode_tokens_per_s, paired?.decode, "×", "⚠"),
      );
    }
    cells.push(`${x.prefill_tokens}+${x.decode_tokens}`, String(x.runs), mb(x.weights_bytes), mb(x.peak_memory_bytes));
    return cells;
  });
  const right = (h: string) => !["model", "type", "backend", "runtime"].includes(h);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [caption(r, source), "", line(head), `|${head.map((h) => (right(h) ? "---:" : "---")).join("|")}|`, ...body.map(line)].join("\n");
}

/** Every run, oldest first, each under its own caption (figures of different runs are never divided by each other). */
export function renderBlock(runs: readonly { report: BenchReport; source: string }[]): string {
  const sorted = [...runs].sort((a, b) => a.report.date.localeCompare(b.report.date));
  const note = "<!-- Generated by `npm run docs:bench` from the JSON files linked below; edit those runs, not this block. -->";
  return [BEGIN, note, "", ...sorted.flatMap((x) => [renderRun(x.report, x.source), ""]), END].join("\n");
}

/** Replaces the marked block of `doc` (markers included) with `block`; the rest of the document is kept byte for byte. */
export function replaceBlock(doc: string, block: string): string {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END, b);
  if (b < 0 || e < 0) throw new Error(`the document has no ${BEGIN} … ${END} block to fill`);
  if (doc.indexOf(BEGIN, b + BEGIN.length) >= 0) throw new Error(`the document has more than one ${BEGIN}`);
  return doc.slice(0, b) + block + doc.slice(e + END.length);
}

/** A throughput figure typed by hand: a number followed by tok/s, tokens/s or tokens per second. */
const FIGURE = /\d[\d,.]*\s*(k\s*)?(tok\/s|tokens?\/s|tokens? per second)/i;
const SPEED_HEADER = /tok\/s|tokens?\/s/i;

/**
 * Lines of a Markdown document that carry a throughput figure outside the generated blocks: "N tok/s" in prose, or
 * a table with a tok/s column. Returns "line N: text" for each.
 */
export function handTypedFigures(doc: string): string[] {
  const found: string[] = [];
  let inside = false;
  let speedTable = false;
  for (const [i, text] of doc.split("\n").entries()) {
    if (text.includes(BEGIN)) inside = true;
    if (!inside) {
      const isRow = text.trimStart().startsWith("|");
      if (!isRow) speedTable = false;
      else if (!speedTable && SPEED_HEADER.test(text)) speedTable = true;
      else if (speedTable && /\d/.test(text) && !/^\s*\|[\s:|-]+\|\s*$/.test(text)) found.push(`line ${i + 1}: ${text.trim()}`);
      if (FIGURE.test(text)) found.push(`line ${i + 1}: ${text.trim()}`);
    }
    if (text.includes(END)) inside = false;
  }
  return [...new Set(found)];
}
