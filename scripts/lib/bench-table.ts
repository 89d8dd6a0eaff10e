// Plain-text table of bench rows, with the ratios the backend work is judged by (to ref, and to llama.cpp when it ran).
import type { BenchReportRow } from "./bench-report";
import { llamaCppRowFor } from "./bench-render";
import { pairedRatioFor, ratioCell } from "./bench-pairing";

type Row = BenchReportRow;
const mb = (bytes: number | null) => (bytes === null ? "" : (bytes / 1e6).toFixed(2));

/**
 * Columns: measured figures, prefill/decode ratio, decode speed-up over ref, and ours/llama.cpp for the same model (the
 * paired ratio, the ratio of the medians in parentheses, and "!min–max" of the paired ratios where they spread over 20%).
 */
export function formatTable(rows: readonly Row[]): string {
  const same = (a: Row, b: Row) => a.model === b.model && a.type === b.type;
  const refDecode = (r: Row) => rows.find((x) => x.backend === "ref" && same(x, r) && x.runtime === r.runtime)?.decode_tokens_per_s;
  const cpp = (r: Row) => llamaCppRowFor(rows, r);
  const head = ["model", "type", "backend", "runtime", "pp tok/s", "tg tok/s", "pp/tg", "tg × ref", "pp/llama.cpp paired (medians)", "tg/llama.cpp paired (medians)", "pp+tg tokens", "weights MB", "peak MB"];
  const body = rows.map((r) => {
    const ref = refDecode(r);
    const c = cpp(r);
    const paired = c ? pairedRatioFor(rows, r, c) : null;
    return [
      r.model,
      r.type,
      r.backend,
      r.runtime,
      String(r.prefill_tokens_per_s),
      r.decode_tokens_per_s.toFixed(1),
      (r.prefill_tokens_per_s / r.decode_tokens_per_s).toFixed(1),
      ref ? (r.decode_tokens_per_s / ref).toFixed(1) : "",
      ratioCell(r.prefill_tokens_per_s, c?.prefill_tokens_per_s, paired?.prefill, "", "!"),
      ratioCell(r.decode_tokens_per_s, c?.decode_tokens_per_s, paired?.decode, "", "!"),
      `${r.prefill_tokens}+${r.decode_tokens}`,
      mb(r.weights_bytes),
      mb(r.peak_memory_bytes),
    ];
  });
  const numeric = new Set([4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...body.map(line)].join("\n");
}
