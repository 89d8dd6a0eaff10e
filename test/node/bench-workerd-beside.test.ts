// bench --vs-llama-cpp --runtimes workerd: each workerd run and the llama.cpp run after it on one CPU, both timed by CPU time.
import { describe, expect, it } from "vitest";
import { benchWorkerd } from "../../scripts/lib/bench-workerd";
import { LlamaCppBeside } from "../../scripts/lib/bench-llama-cpp";
import { findModel } from "../../scripts/lib/bench-core";
import { allowedCpus } from "../../scripts/lib/thread-cpu";

describe.runIf(process.platform === "linux")("workerd rows beside llama.cpp", () => {
  it("are labelled as pinned and CPU-timed, pair one to one with llama.cpp runs so timed, and leave this thread unpinned", async () => {
    // A k256 shape: each phase's isolate CPU time must clear an empty request's (about 1 ms, workerd serves HTTP on the
    // isolate's thread), which is subtracted; the tiny shape's phases come too close to it on a loaded machine.
    const o = { models: ["k256-Q4_0"], backends: ["wasm-relaxed"], runtimes: ["workerd"], prefill: 16, decode: 16, runs: 3, warmup: 0 };
    const before = allowedCpus();
    const beside = new LlamaCppBeside(o, "workerd");
    try {
      const lines: string[] = [];
      const rows = await benchWorkerd([findModel("k256-Q4_0")], ["wasm-relaxed"], o, (l) => lines.push(l), beside);
      expect(lines.join("\n")).not.toMatch(/not found|wall clock/);
      expect(rows, lines.join("\n")).toHaveLength(1);
      const row = rows[0]!;
      expect(row.runtime).toMatch(/^workerd .*each run and its llama\.cpp run pinned to one CPU \(CPUs in turn\), both timed by the thread's CPU time\)$/);
      expect(row.samples.decode_tokens_per_s).toHaveLength(3);
      expect(row.samples.decode_tokens_per_s.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
      expect(row.paired_ratio?.decode.median).toBeGreaterThan(0);
      const [cpp] = beside.rows();
      expect(cpp!.runtime).toMatch(/^llama\.cpp \(.*, timed by its thread's CPU time\) beside workerd$/);
      expect(cpp!.samples.decode_tokens_per_s.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
      // Only the runs were pinned: the thread that runs the bench may use every CPU again.
      expect(allowedCpus()).toEqual(before);
      // One model's llama.cpp runs are all timed by one clock.
      expect(() => beside.run(findModel("k256-Q4_0"), { model: cpp!.model, type: cpp!.type }, false, "wall")).toThrow(/timed by both clocks/);
    } finally {
      beside.free();
    }
  }, 120_000);
});
