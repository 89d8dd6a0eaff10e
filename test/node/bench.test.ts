// Smoke test of `npm run bench`: the rows' JSON shape on the tiny synthetic model (never asserts timings).
import { describe, expect, it } from "vitest";
import { parseKvTypeFlag, runBench } from "../../scripts/lib/bench-run";
import { formatTable } from "../../scripts/lib/bench-table";
import { BenchSession, benchPrompt, findModel, median, modelBytes, peakMemory, tokenCounts } from "../../scripts/lib/bench-core";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { BENCH_REPORT_FORMAT, benchReport, machineInfo } from "../../scripts/lib/bench-report";
import { UsageError } from "../../scripts/lib/args";
import { benchVsLlamaCpp, LlamaCppBeside } from "../../scripts/lib/bench-llama-cpp";
import { pairedRatioFor } from "../../scripts/lib/bench-pairing";
import { allowedCpus } from "../../scripts/lib/thread-cpu";

/** A stored ratio is rounded to 4 significant digits: within 5e-4 of the exact value, relatively. */
const expectSig4 = (stored: number | undefined, exact: number) => expect(Math.abs((stored ?? NaN) / exact - 1)).toBeLessThanOrEqual(5e-4 + 1e-9);

describe("bench", () => {
  it("emits one well-formed row per model × backend on the tiny shape", async () => {
    const backends = ["ref", "wasm-simd128", "wasm-relaxed"];
    const rows = await runBench({
      models: ["tiny-Q8_0", "tiny-Q4_0"],
      backends,
      runtimes: ["node"],
      prefill: 8,
      decode: 4,
      runs: 1,
      warmup: 0,
    });
    expect(rows).toHaveLength(6);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
    for (const [i, row] of rows.entries()) {
      expect(Object.keys(row).slice(0, 8)).toEqual([
        "model", "type", "backend", "runtime", "prefill_tokens_per_s", "decode_tokens_per_s", "weights_bytes", "peak_memory_bytes",
      ]);
      expect(row.model).toBe("tiny (synth)");
      expect(row.type).toBe(i < 3 ? "Q8_0" : "Q4_0");
      expect(row.backend).toBe(backends[i % 3]);
      expect(row.runtime).toMatch(/^node v\d+/);
      for (const k of ["prefill_tokens_per_s", "decode_tokens_per_s"] as const) {
        expect(typeof row[k]).toBe("number");
        expect(Number.isFinite(row[k]) && row[k] > 0).toBe(true);
      }
      expect(row.weights_bytes).toBeGreaterThan(0);
      expect(row.peak_memory_bytes).toBeGreaterThanOrEqual(row.weights_bytes);
      expect([row.prefill_tokens, row.decode_tokens, row.runs]).toEqual([8, 4, 1]);
      expect(row.samples.prefill_tokens_per_s).toHaveLength(1);
      expect(row.samples.decode_tokens_per_s).toHaveLength(1);
      // The row's decode figure is rounded to 0.1 tok/s and each sample to 4 significant digits (≤ 5e-4 relative), so
      // they agree within the sum of both roundings; a slow machine (tens of tok/s) makes the 0.1 step matter.
      const decode = row.decode_tokens_per_s;
      expect(Math.abs(median(row.samples.decode_tokens_per_s) - decode)).toBeLessThanOrEqual(0.05 + 5e-4 * decode + 1e-9);
    }
    const report = benchReport({ models: ["tiny-Q8_0", "tiny-Q4_0"], backends, runtimes: ["node"], prefill: 8, decode: 4, runs: 1, warmup: 0, prefill_batch: 32 }, rows);
    expect(report.format).toBe(BENCH_REPORT_FORMAT);
    expect(new Date(report.date).toISOString()).toBe(report.date);
    expect(report.runtime).toMatchObject({ node: process.version, v8: process.versions.v8, workerd: null });
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.rows).toEqual(rows);
    expect(formatTable(rows).split("\n")).toHaveLength(2 + rows.length);
  });

  it("--vs-llama-cpp: llama.cpp times the same file in the same run, and the table shows ours/llama.cpp", () => {
    const o = { models: ["tiny-Q8_0"], backends: ["wasm-relaxed", "webgpu"], runtimes: ["node"], prefill: 16, decode: 8, runs: 2, warmup: 1 };
    const cpusBefore = allowedCpus();
    const { rows, cpuVariant } = benchVsLlamaCpp(o);
    expect(cpuVariant).not.toBe("");
    expect(rows.map((r) => r.backend)).toEqual(["wasm-relaxed", "llama.cpp"]); // webgpu is not alternated (async readback)
    const [ours, cpp] = rows as [(typeof rows)[0], (typeof rows)[0]];
    // Both engines run on this thread here: each run is timed by its CPU time (the labels say so).
    expect([cpp.model, cpp.type, cpp.runtime]).toEqual([ours.model, ours.type, `llama.cpp (${cpuVariant}, timed by its thread's CPU time)`]);
    // Where this thread can run on more than one CPU, each round (ours, then llama.cpp's) is pinned to one, in turn,
    // and the thread may use every CPU again afterwards.
    const multi = cpusBefore.length > 1;
    expect(ours.runtime).toBe(`node ${process.version} (timed by the thread's CPU time${multi ? ", each round pinned to one CPU (CPUs in turn)" : ""})`);
    expect(allowedCpus()).toEqual(cpusBefore);
    for (const r of rows) {
      expect(r.samples.prefill_tokens_per_s).toHaveLength(2);
      expect(r.prefill_tokens_per_s > 0 && r.decode_tokens_per_s > 0).toBe(true);
    }
    expect([cpp.weights_bytes, cpp.prefill_tokens, cpp.decode_tokens]).toEqual([null, 16, 8]);
    // Round i ran our run i and then llama.cpp's run i: the stored paired ratio is the median of the per-run ratios, and
    // the same as the renderers rebuild from the two rows' samples.
    const perRun = ours.samples.decode_tokens_per_s.map((x, i) => x / cpp.samples.decode_tokens_per_s[i]!);
    expect(ours.paired_ratio?.decode.pairs).toBe(2);
    expectSig4(ours.paired_ratio?.decode.median, (perRun[0]! + perRun[1]!) / 2);
    expectSig4(ours.paired_ratio?.decode.min, Math.min(...perRun));
    expect(cpp.paired_ratio).toBeUndefined();
    const { paired_ratio, ...unpaired } = ours;
    expect(pairedRatioFor([unpaired, cpp], unpaired, cpp)).toEqual(paired_ratio);
    const ratio = (ours.decode_tokens_per_s / cpp.decode_tokens_per_s).toFixed(2);
    expect(formatTable(rows).split("\n")[2]).toContain(` ${paired_ratio!.decode.median.toFixed(2)} (${ratio})`);
  });

  it("--vs-llama-cpp with several backends: each backend's run i is paired with round i's llama.cpp run", () => {
    const o = { models: ["tiny-Q4_0"], backends: ["wasm-relaxed", "wasm-simd128"], runtimes: ["node"], prefill: 16, decode: 8, runs: 3, warmup: 0 };
    const { rows } = benchVsLlamaCpp(o);
    expect(rows.map((r) => r.backend)).toEqual(["wasm-relaxed", "wasm-simd128", "llama.cpp"]);
    const cpp = rows[2]!;
    for (const ours of rows.slice(0, 2)) {
      for (const phase of ["prefill", "decode"] as const) {
        const key = `${phase}_tokens_per_s` as const;
        const perRun = ours.samples[key].map((x, i) => x / cpp.samples[key][i]!).sort((a, b) => a - b);
        expect(ours.paired_ratio?.[phase].pairs).toBe(3);
        expectSig4(ours.paired_ratio?.[phase].median, perRun[1]!);
        expectSig4(ours.paired_ratio?.[phase].min, perRun[0]!);
        expectSig4(ours.paired_ratio?.[phase].max, perRun[2]!);
      }
    }
  });

  it("reads the CPU model and the SIMD flags that matter from /proc/cpuinfo", () => {
    const cpuinfo = "processor\t: 0\nmodel name\t: Test EPYC 9000\nflags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx_vnni sha_ni\n\nprocessor\t: 1\n";
    const m = machineInfo(cpuinfo);
    expect(m.cpu).toBe("Test EPYC 9000");
    expect(m.cpu_flags).toEqual(["avx", "avx2", "avx512_bf16", "avx512_vnni", "avx512bw", "avx512f", "avx512vl", "avx_vnni", "fma"]);
    expect(machineInfo(null).cpu_flags).toEqual([]);
  });

  it("caps ref on the SmolLM2 shape only, and rejects unknown models and runtimes", async () => {
    const full = { prefill: 128, decode: 128 };
    expect(tokenCounts(findModel("smollm2-135m-Q4_0"), "ref", full)).toEqual({ prefill: 32, decode: 16 });
    expect(tokenCounts(findModel("smollm2-135m-Q4_0"), "wasm-simd128", full)).toEqual(full);
    expect(tokenCounts(findModel("stories15M-Q8_0"), "ref", full)).toEqual(full);
    expect(() => findModel("nope")).toThrow(/unknown bench model/);
    await expect(runBench({ models: ["tiny-Q8_0"], backends: ["ref"], runtimes: ["deno"], prefill: 1, decode: 1, runs: 1, warmup: 0 })).rejects.toThrow(/unknown runtime/);
  });

  it("--kv-type: parsed (f32 when absent), a clear usage error otherwise", () => {
    expect(parseKvTypeFlag(undefined)).toBe("f32");
    for (const t of ["f32", "f16", "q8_0"]) expect(parseKvTypeFlag(t)).toBe(t);
    expect(() => parseKvTypeFlag("f8")).toThrow(/--kv-type must be one of f32, f16, q8_0, got "f8"/);
    expect(() => parseKvTypeFlag("F16")).toThrow(UsageError);
  });

  it("--kv-type reaches the context, and the ref row's peak memory counts the cache in that type", async () => {
    const model = LlamaModel.load(modelBytes(findModel("tiny-Q4_0"), () => new Uint8Array()), createBackend("ref"));
    const prompt = benchPrompt(model.config.vocabSize, 4);
    for (const t of ["f32", "f16"] as const) {
      const s = new BenchSession(model, prompt, 2, t);
      expect(s.kvType).toBe(t);
      s.dispose();
    }
    expect(new BenchSession(model, prompt, 2).kvType).toBe("f32");
    // tiny: 2 layers, K and V, 2 KV heads of 16: 64 elements a layer and position; f32 4 bytes, f16 2.
    const o = { models: ["tiny-Q4_0"], backends: ["ref"], runtimes: ["node"], prefill: 8, decode: 4, runs: 1, warmup: 0 };
    const [f32] = await runBench({ ...o, kvType: "f32" });
    const [f16] = await runBench({ ...o, kvType: "f16" });
    const nCtx = 8 + 4 + 1;
    expect(f32!.peak_memory_bytes - f16!.peak_memory_bytes).toBe(nCtx * 2 * 2 * 32 * (4 - 2));
    expect(peakMemory(model, nCtx) - peakMemory(model, nCtx, "f16")).toBe(nCtx * 2 * 2 * 32 * (4 - 2));
    expect(peakMemory(model, 32, "f32") - peakMemory(model, 32, "q8_0")).toBe(32 * 2 * 2 * (32 * 4 - 34)); // one 34-byte block per 32
  });

  it("--kv-type q8_0 skips (with a log line) a model whose head dimension is not a multiple of 32", async () => {
    const lines: string[] = [];
    const o = { models: ["tiny-Q4_0"], backends: ["ref", "wasm-relaxed"], runtimes: ["node"], prefill: 8, decode: 4, runs: 1, warmup: 0 };
    expect(await runBench({ ...o, kvType: "q8_0", log: (l) => lines.push(l) })).toEqual([]);
    expect(lines).toEqual([
      "tiny-Q4_0 ref: skipped, a q8_0 KV cache needs a head dimension divisible by 32, not 16",
      "tiny-Q4_0 wasm-relaxed: skipped, a q8_0 KV cache needs a head dimension divisible by 32, not 16",
    ]);
    const rows = await runBench({ ...o, backends: ["wasm-relaxed"], kvType: "f16" });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.decode_tokens_per_s).toBeGreaterThan(0);
    const report = benchReport({ models: o.models, backends: ["wasm-relaxed"], runtimes: ["node"], prefill: 8, decode: 4, runs: 1, warmup: 0, prefill_batch: 32, kv_type: "f16" }, rows);
    expect(JSON.parse(JSON.stringify(report)).settings.kv_type).toBe("f16");
  });

  it("llama.cpp rows beside workerd hold only row fields, not the rest of the label they were given", () => {
    const o = { models: ["tiny-Q8_0"], backends: ["wasm-relaxed"], runtimes: ["workerd"], prefill: 16, decode: 8, runs: 1, warmup: 0 };
    const beside = new LlamaCppBeside(o, "workerd");
    try {
      // As bench-workerd.ts passes it: the bench Worker's /load answer.
      const info = { model: "tiny (synth)", type: "Q8_0", backend: "wasm-relaxed", kv_type: "f16", prefill: 16, decode: 8 };
      beside.run(findModel("tiny-Q8_0"), info, true);
      const [row] = beside.rows();
      expect(Object.keys(row!)).toEqual([
        "model", "type", "backend", "runtime", "prefill_tokens_per_s", "decode_tokens_per_s", "weights_bytes", "peak_memory_bytes",
        "prefill_tokens", "decode_tokens", "runs", "samples",
      ]);
      expect([row!.model, row!.type, row!.backend]).toEqual(["tiny (synth)", "Q8_0", "llama.cpp"]);
    } finally {
      beside.free();
    }
  });
});
