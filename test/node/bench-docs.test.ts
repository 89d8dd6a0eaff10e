// The bench docs renderer: tables from report JSON, ratios within one run only, markers kept, and no hand-typed speeds in the docs.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BENCH_REPORT_FORMAT, type BenchReport, type BenchReportRow } from "../../scripts/lib/bench-report";
import { BEGIN, END, handTypedFigures, llamaCppRowFor, parseReport, renderBlock, renderRun, replaceBlock } from "../../scripts/lib/bench-render";
import { formatTable } from "../../scripts/lib/bench-table";

const row = (backend: string, pp: number, tg: number, extra: Partial<BenchReportRow> = {}): BenchReportRow => ({
  model: "stories15M (synth)",
  type: "Q8_0",
  backend,
  runtime: "node v22.0.0",
  prefill_tokens_per_s: pp,
  decode_tokens_per_s: tg,
  weights_bytes: 27_500_000,
  peak_memory_bytes: 35_800_000,
  prefill_tokens: 64,
  decode_tokens: 32,
  runs: 3,
  samples: { prefill_tokens_per_s: [pp, pp, pp], decode_tokens_per_s: [tg, tg, tg] },
  ...extra,
});

const report = (date: string, rows: BenchReportRow[]): BenchReport => ({
  format: BENCH_REPORT_FORMAT,
  date,
  machine: { cpu: "Test CPU", cores: 2, cpu_flags: ["avx2", "avx512f", "avx512_vnni"], memory_bytes: 8e9, os: "linux x64" },
  runtime: { node: "v22.0.0", v8: "12.4", workerd: null },
  settings: { models: ["stories15M-Q8_0"], backends: ["ref", "wasm-relaxed"], runtimes: ["node"], prefill: 64, decode: 32, runs: 3, warmup: 1, prefill_batch: 32 },
  rows,
});

const runA = report("2026-01-02T10:00:00.000Z", [row("ref", 200, 40), row("wasm-relaxed", 3000, 1000)]);
const runB = report("2026-01-01T09:00:00.000Z", [row("wasm-relaxed", 2000, 800), row("llama.cpp", 4000, 400, { runtime: "node-llama-cpp 3.0.0", weights_bytes: null, peak_memory_bytes: null })]);

describe("bench docs renderer", () => {
  it("renders one row per report row under a caption with date, machine flags and runtime", () => {
    const table = renderRun(runA, "bench/a.json");
    const lines = table.split("\n");
    expect(lines[0]).toContain("2026-01-02 10:00 UTC");
    expect(lines[0]).toContain("avx2 avx512f avx512_vnni");
    expect(lines[0]).toContain("Node v22.0.0");
    expect(lines[0]).toContain("[bench/a.json](bench/a.json)");
    expect(lines.filter((l) => l.startsWith("| stories15M (synth) | Q8_0 |"))).toHaveLength(2);
    expect(table).toContain("| wasm-relaxed | node v22.0.0 | 3,000 | 1,000 | 3.00× | 15.00× | 25.00× |");
    expect(table).not.toContain("llama.cpp");
  });

  it("names our KV cache type in the caption when it is not f32 (reports without kv_type ran f32)", () => {
    const caption = (kv?: "f32" | "f16" | "q8_0") => renderRun({ ...runA, settings: { ...runA.settings, ...(kv && { kv_type: kv }) } }, "a.json").split("\n")[0]!;
    expect(caption("f16")).toContain("decode 32, our KV cache f16, median of 3 runs");
    expect(caption("q8_0")).toContain("our KV cache q8_0");
    expect(caption("f32")).toBe(caption());
    expect(caption()).not.toContain("KV cache");
  });

  it("divides only figures of the same run, and shows ours/llama.cpp where the run has a llama.cpp row", () => {
    const b = renderRun(runB, "bench/b.json");
    // No ref row in run B: no ref column, although run A has one for the same model.
    expect(b).not.toContain("× ref");
    expect(b).toContain("tg ours/llama.cpp");
    // Paired ratio first, the ratio of the medians in parentheses (every sample equals the median here: the same).
    expect(b).toContain("tg ours/llama.cpp paired (medians)");
    expect(b).toContain("| wasm-relaxed | node v22.0.0 | 2,000 | 800 | 2.50× | 0.50× (0.50×) | 2.00× (2.00×) |");
    const block = renderBlock([{ report: runA, source: "bench/a.json" }, { report: runB, source: "bench/b.json" }]);
    expect(block.indexOf("2026-01-01")).toBeLessThan(block.indexOf("2026-01-02")); // oldest first
    // Run A's wasm row against run B's llama.cpp row (3000/4000) would be 0.75×: it must not appear.
    expect(block).not.toContain("0.75×");
    expect(block.startsWith(BEGIN) && block.endsWith(END)).toBe(true);
  });

  it("divides workerd rows by the llama.cpp row measured beside workerd, Node rows by the one alternated with Node", () => {
    const cpp = { weights_bytes: null, peak_memory_bytes: null };
    const runC = report("2026-01-03T09:00:00.000Z", [
      row("wasm-relaxed", 2000, 800),
      row("llama.cpp", 4000, 400, { runtime: "llama.cpp (zen4)", ...cpp }),
      row("wasm-relaxed", 1000, 600, { runtime: "workerd 1.2 (miniflare)" }),
      row("llama.cpp", 2500, 300, { runtime: "llama.cpp (zen4) beside workerd", ...cpp }),
    ]);
    const c = renderRun(runC, "bench/c.json");
    expect(c).toContain("| wasm-relaxed | node v22.0.0 | 2,000 | 800 | 2.50× | 0.50× (0.50×) | 2.00× (2.00×) |");
    expect(c).toContain("| wasm-relaxed | workerd 1.2 (miniflare) | 1,000 | 600 | 1.67× | 0.40× (0.40×) | 2.00× (2.00×) |");
    const table = formatTable(runC.rows);
    expect(table).toMatch(/workerd 1\.2 \(miniflare\) *\| *1000 \| *600\.0 \| *1\.7 \| *\| *0\.40 \(0\.40\) \| *2\.00 \(2\.00\) \|/);
    // A report with no llama.cpp row beside workerd (older ones) divides workerd rows by the Node-side row.
    expect(llamaCppRowFor(runC.rows.slice(0, 3), runC.rows[2]!)?.runtime).toBe("llama.cpp (zen4)");
    expect(llamaCppRowFor(runC.rows, runC.rows[1]!)).toBeUndefined();
  });

  it("replaces the marked block and keeps the rest of the document and the markers", () => {
    const doc = `# Benchmarks\n\nintro\n\n${BEGIN}\nold\n${END}\n\n## Analysis\ntext\n`;
    const out = replaceBlock(doc, renderBlock([{ report: runA, source: "bench/a.json" }]));
    expect(out.startsWith("# Benchmarks\n\nintro\n\n")).toBe(true);
    expect(out.endsWith("\n\n## Analysis\ntext\n")).toBe(true);
    expect(out).not.toContain("\nold\n");
    expect(out.split(BEGIN)).toHaveLength(2);
    expect(out.split(END)).toHaveLength(2);
    expect(replaceBlock(out, renderBlock([{ report: runA, source: "bench/a.json" }]))).toBe(out);
    expect(() => replaceBlock("# no markers\n", "x")).toThrow(/no <!-- bench:begin -->/);
  });

  it("refuses files that are not bench reports", () => {
    expect(parseReport(JSON.stringify(runA), "a.json").rows).toHaveLength(2);
    expect(() => parseReport("[]", "old.json")).toThrow(/old.json: not a bench report/);
    expect(() => parseReport(JSON.stringify({ ...runA, rows: [{ ...runA.rows[0], decode_tokens_per_s: 0 }] }), "z.json")).toThrow(/rows\[0\]\.decode_tokens_per_s/);
    const paired = { prefill: { median: 0.5, min: 0.4, max: 0.6, pairs: 3 }, decode: { median: 1, min: 1, max: 1, pairs: 3 } };
    expect(parseReport(JSON.stringify({ ...runA, rows: [{ ...runA.rows[0], paired_ratio: paired }] }), "p.json").rows[0]!.paired_ratio).toEqual(paired);
    const bad = { ...paired, decode: { median: null, min: 1, max: 1, pairs: 3 } };
    expect(() => parseReport(JSON.stringify({ ...runA, rows: [runA.rows[0], { ...runA.rows[1], paired_ratio: bad }] }), "q.json")).toThrow(/q\.json: .*rows\[1\]\.paired_ratio\.decode\.median/);
  });

  it("flags throughput figures typed outside the generated blocks", () => {
    expect(handTypedFigures("decode runs at 1,084 tok/s here")).toHaveLength(1);
    expect(handTypedFigures("about 12 tokens/s")).toHaveLength(1);
    expect(handTypedFigures("| model | pp tok/s |\n|---|---:|\n| a | 12 |\n")).toEqual(["line 3: | a | 12 |"]);
    expect(handTypedFigures(`${BEGIN}\n| model | pp tok/s |\n|---|---:|\n| a | 12 |\n5 tok/s\n${END}\n`)).toEqual([]);
    expect(handTypedFigures("the tok/s columns are medians")).toEqual([]);
  });

  it("README.md and docs/*.md carry no throughput figure outside the generated blocks", () => {
    const files = ["README.md", ...readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    for (const f of files) expect(handTypedFigures(readFileSync(f, "utf8")), f).toEqual([]);
  });

  it("docs/benchmarks.md is what the committed reports render", () => {
    const dir = "docs/bench";
    const runs = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => ({ report: parseReport(readFileSync(`${dir}/${f}`, "utf8"), f), source: `bench/${f}` }));
    expect(runs.length).toBeGreaterThan(0);
    const doc = readFileSync("docs/benchmarks.md", "utf8");
    expect(replaceBlock(doc, renderBlock(runs))).toBe(doc);
  });
});
