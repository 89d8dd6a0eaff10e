// Plain-text table of bench rows, with the two ratios the backend work is judged by.
import type { BenchRow } from "./bench-core";

/** Columns: measured figures, prefill/decode ratio, and decode speed-up over the ref row of the same model and runtime. */
export function formatTable(rows: readonly BenchRow[]): string {
  const refDecode = (r: BenchRow) => rows.find((x) => x.backend === "ref" && x.model === r.model && x.type === r.type && x.runtime === r.runtime)?.decode_tokens_per_s;
  const head = ["model", "type", "backend", "runtime", "pp tok/s", "tg tok/s", "pp/tg", "tg × ref", "pp+tg tokens", "weights MB", "peak MB"];
  const body = rows.map((r) => {
    const ref = refDecode(r);
    return [
      r.model,
      r.type,
      r.backend,
      r.runtime,
      String(r.prefill_tokens_per_s),
      r.decode_tokens_per_s.toFixed(1),
      (r.prefill_tokens_per_s / r.decode_tokens_per_s).toFixed(1),
      ref ? (r.decode_tokens_per_s / ref).toFixed(1) : "",
      `${r.prefill_tokens}+${r.decode_tokens}`,
      (r.weights_bytes / 1e6).toFixed(2),
      (r.peak_memory_bytes / 1e6).toFixed(2),
    ];
  });
  const numeric = new Set([4, 5, 6, 7, 8, 9, 10]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...body.map(line)].join("\n");
}
