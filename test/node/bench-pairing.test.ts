// Paired ours/llama.cpp ratios: run i against the llama.cpp run beside it, which rows pair (Node rounds, runs beside
// workerd), the fallback to the ratio of the medians, bad figures left out, and how the tables show them.
import { describe, expect, it } from "vitest";
import type { BenchReportRow } from "../../scripts/lib/bench-report";
import { isNoisy, pairedRatio, pairedRatioFor, ratioCell, ratioSpread } from "../../scripts/lib/bench-pairing";
import { renderRun } from "../../scripts/lib/bench-render";
import { formatTable } from "../../scripts/lib/bench-table";
import { BENCH_REPORT_FORMAT, type BenchReport } from "../../scripts/lib/bench-report";
import { median } from "../../scripts/lib/bench-core";

const NODE = "node v22.0.0";
const WORKERD = "workerd 1.2 (miniflare)";
const row = (backend: string, runtime: string, pp: number[], tg: number[], extra: Partial<BenchReportRow> = {}): BenchReportRow => ({
  model: "k256 (synth, Q4_0 mix)",
  type: "Q4_0",
  backend,
  runtime,
  prefill_tokens_per_s: Math.round(median(pp)),
  decode_tokens_per_s: Math.round(median(tg) * 10) / 10,
  weights_bytes: backend === "llama.cpp" ? null : 1e6,
  peak_memory_bytes: backend === "llama.cpp" ? null : 2e6,
  prefill_tokens: 128,
  decode_tokens: 128,
  runs: pp.length,
  samples: { prefill_tokens_per_s: pp, decode_tokens_per_s: tg },
  ...extra,
});

describe("ratioSpread", () => {
  it("divides run i by run i and gives the median, min and max of those ratios", () => {
    // Run 2 fell in a slow phase for both engines: paired, it cancels; the medians (100 / 190) do not pair it up.
    const s = ratioSpread([100, 60, 100], [200, 120, 190])!;
    expect(s).toEqual({ median: 0.5, min: 0.5, max: 0.5263, pairs: 3 });
    expect(median([100, 60, 100]) / median([200, 120, 190])).toBeCloseTo(0.5263, 4);
    expect(ratioSpread([1, 2, 3, 4], [1, 1, 1, 1])).toEqual({ median: 2.5, min: 1, max: 4, pairs: 4 });
  });

  it("leaves out pairs with a missing, zero, negative or non-finite figure, and is null when none is left", () => {
    expect(ratioSpread([100, NaN, 90, 80], [200, 200, 0, -5])).toEqual({ median: 0.5, min: 0.5, max: 0.5, pairs: 1 });
    expect(ratioSpread([100, Infinity], [Infinity, 100])).toBeNull();
    expect(ratioSpread([], [])).toBeNull();
    expect(pairedRatio({ prefill_tokens_per_s: [1], decode_tokens_per_s: [NaN] }, { prefill_tokens_per_s: [2], decode_tokens_per_s: [2] })).toBeNull();
  });

  it("refuses lists of different lengths (runs not paired one to one)", () => {
    expect(() => ratioSpread([1, 2], [1])).toThrow(/2 runs of ours against 1 of llama.cpp/);
  });

  it("flags a phase whose paired ratios spread over 20%", () => {
    expect(isNoisy({ median: 1, min: 0.9, max: 1.07, pairs: 3 })).toBe(false);
    expect(isNoisy({ median: 1, min: 0.9, max: 1.09, pairs: 3 })).toBe(true);
  });
});

describe("pairedRatioFor", () => {
  it("pairs every Node backend's run i with the llama.cpp run of round i", () => {
    const cpp = row("llama.cpp", "llama.cpp (zen4)", [1000, 500, 1000], [100, 50, 100]);
    const relaxed = row("wasm-relaxed", NODE, [800, 400, 820], [90, 45, 110]);
    const simd = row("wasm-simd128", NODE, [400, 200, 390], [40, 20, 41]);
    const rows = [relaxed, simd, cpp];
    expect(pairedRatioFor(rows, relaxed, cpp)).toEqual({
      prefill: { median: 0.8, min: 0.8, max: 0.82, pairs: 3 },
      decode: { median: 0.9, min: 0.9, max: 1.1, pairs: 3 },
    });
    expect(pairedRatioFor(rows, simd, cpp)?.prefill).toEqual({ median: 0.4, min: 0.39, max: 0.4, pairs: 3 });
    // Another run count than llama.cpp's: not paired.
    const short = row("wasm-relaxed", NODE, [800, 400], [90, 45]);
    expect(pairedRatioFor([short, cpp], short, cpp)).toBeNull();
  });

  it("pairs each workerd row with its own slice of the llama.cpp runs beside workerd, in row order", () => {
    const beside = row("llama.cpp", "llama.cpp (zen4) beside workerd", [1000, 1000, 500, 2000, 2000, 2000], [100, 100, 100, 200, 200, 200]);
    const a = row("wasm-relaxed", WORKERD, [500, 600, 250], [50, 50, 50]);
    const b = row("wasm-simd128", WORKERD, [400, 400, 400], [20, 30, 40]);
    const node = row("wasm-relaxed", NODE, [1, 1, 1], [1, 1, 1]);
    const rows = [node, a, b, beside];
    expect(pairedRatioFor(rows, a, beside)).toEqual({
      prefill: { median: 0.5, min: 0.5, max: 0.6, pairs: 3 },
      decode: { median: 0.5, min: 0.5, max: 0.5, pairs: 3 },
    });
    expect(pairedRatioFor(rows, b, beside)).toEqual({
      prefill: { median: 0.2, min: 0.2, max: 0.2, pairs: 3 },
      decode: { median: 0.15, min: 0.1, max: 0.2, pairs: 3 },
    });
    // A Node row is never paired with the runs beside workerd.
    expect(pairedRatioFor(rows, node, beside)).toBeNull();
    // Counts that do not add up (a row dropped after its runs): the slices cannot be trusted, not paired.
    expect(pairedRatioFor([a, beside], a, beside)).toBeNull();
  });

  it("does not pair a workerd row with the llama.cpp row alternated with Node (older reports: minutes apart)", () => {
    const cpp = row("llama.cpp", "llama.cpp (zen4)", [1000, 1000, 1000], [100, 100, 100]);
    const w = row("wasm-relaxed", WORKERD, [500, 500, 500], [50, 50, 50]);
    expect(pairedRatioFor([cpp, w], w, cpp)).toBeNull();
  });

  it("takes the report's stored paired_ratio where the bench wrote one", () => {
    const stored = { prefill: { median: 0.7, min: 0.6, max: 0.8, pairs: 3 }, decode: { median: 1.1, min: 1, max: 1.2, pairs: 3 } };
    const cpp = row("llama.cpp", "llama.cpp (zen4)", [1000, 1000, 1000], [100, 100, 100]);
    const ours = row("wasm-relaxed", NODE, [500, 500, 500], [50, 50, 50], { paired_ratio: stored });
    expect(pairedRatioFor([ours, cpp], ours, cpp)).toBe(stored);
  });
});

describe("ratio cells", () => {
  const spread = (median: number, min: number, max: number) => ({ median, min, max, pairs: 5 });
  it("shows the paired ratio, the ratio of the medians in parentheses, and the range of a noisy phase", () => {
    expect(ratioCell(940, 1000, spread(0.97, 0.95, 1), "×", "⚠")).toBe("0.97× (0.94×)");
    expect(ratioCell(940, 1000, spread(0.97, 0.8, 1.12), "×", "⚠")).toBe("0.97× (0.94×) ⚠0.80–1.12");
    expect(ratioCell(940, 1000, undefined, "", "!")).toBe("(0.94)");
    expect(ratioCell(940, undefined, spread(1, 1, 1), "×", "⚠")).toBe("");
  });

  it("renders the paired statistic in the docs table and the plain-text table, unpaired rows as medians only", () => {
    // The Q6_K-like case: our runs 2-3 in a slow phase, llama.cpp beside them not; and a workerd row unpaired.
    const cpp = row("llama.cpp", "llama.cpp (zen4)", [2000, 2000, 2000, 2000, 2000], [1500, 1600, 1550, 1500, 1650]);
    const ours = row("wasm-relaxed", NODE, [1000, 1000, 1000, 1000, 1000], [1140, 750, 770, 1150, 1160]);
    const w = row("wasm-relaxed", WORKERD, [900, 900, 900], [100, 100, 100]);
    const report: BenchReport = {
      format: BENCH_REPORT_FORMAT,
      date: "2026-01-05T09:00:00.000Z",
      machine: { cpu: "Test CPU", cores: 2, cpu_flags: [], memory_bytes: 8e9, os: "linux x64" },
      runtime: { node: "v22.0.0", v8: "12.4", workerd: "1.2" },
      settings: { models: ["k256-Q4_0"], backends: ["wasm-relaxed"], runtimes: ["node", "workerd"], prefill: 128, decode: 128, runs: 5, warmup: 1, prefill_batch: 32 },
      rows: [ours, cpp, w],
    };
    const md = renderRun(report, "bench/x.json");
    expect(md).toContain("| pp ours/llama.cpp paired (medians) | tg ours/llama.cpp paired (medians) |");
    // decode ratios 0.76, 0.4688, 0.4968, 0.7667, 0.7030: median 0.70, medians 1140/1550 = 0.74, range 0.47–0.77.
    expect(md).toContain("| 0.50× (0.50×) | 0.70× (0.74×) ⚠0.47–0.77 |");
    expect(md).toContain("| (0.45×) | (0.06×) |");
    const text = formatTable(report.rows);
    expect(text).toContain("tg/llama.cpp paired (medians)");
    expect(text).toMatch(/\| +0\.50 \(0\.50\) \| +0\.70 \(0\.74\) !0\.47–0\.77 \|/);
    expect(text).toMatch(/\| +\(0\.45\) \| +\(0\.06\) \|/);
  });
});
