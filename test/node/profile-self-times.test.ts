// kernels/bench/profile-self-times.ts: self time per function and kind from a CPU profile, wasm names from the text form.
import { describe, expect, it } from "vitest";
import { kind, parseWatFunctionNames, selfTimes, type Profile } from "../../kernels/bench/profile-self-times";

const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber });

/** Nodes: root, a JS function, two wasm functions, GC, idle; samples chosen so each sum is known. */
const profile: Profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)") },
    { id: 2, callFrame: frame("argmax", "file:///w/bench-core.ts?x=1", 130) },
    { id: 3, callFrame: frame("wasm-function[2]", "wasm://wasm/abc") },
    { id: 4, callFrame: frame("wasm-function[7]", "wasm://wasm/abc") },
    { id: 5, callFrame: frame("(garbage collector)") },
    { id: 6, callFrame: frame("(idle)") },
  ],
  startTime: 0,
  endTime: 0,
  // A sample's time is the next sample's delta (µs); the last sample takes its own.
  samples: [3, 3, 4, 2, 5, 6, 3],
  timeDeltas: [0, 100, 200, 300, 400, 500, 600],
};

describe("profile self times", () => {
  it("sums each sample's time to the next one per function and per kind", () => {
    const names = ["a", "b", "matmul_q4_0_fused", "c", "d", "e", "f", "rope"];
    const t = selfTimes(profile, names);
    // matmul: samples 0, 1 and 6 → 0.1 + 0.2 + 0.6 ms; rope: 0.3; argmax: 0.4; GC: 0.5; idle: 0.6.
    expect(t.get("matmul_q4_0_fused (wasm 2)")).toBeCloseTo(0.9, 9);
    expect(t.get("rope (wasm 7)")).toBeCloseTo(0.3, 9);
    expect(t.get("argmax bench-core.ts:131")).toBeCloseTo(0.4, 9);
    expect(t.get("[wasm]")).toBeCloseTo(1.2, 9);
    expect(t.get("[wasm: matmuls]")).toBeCloseTo(0.9, 9);
    expect(t.get("[JS]")).toBeCloseTo(0.4, 9);
    expect(t.get("[GC]")).toBeCloseTo(0.5, 9);
    expect(t.get("[idle]")).toBeCloseTo(0.6, 9);
    expect(t.get("[busy]")).toBeCloseTo(2.1, 9);
  });

  it("keeps V8's wasm-function[i] where no name is known", () => {
    const t = selfTimes(profile);
    expect(t.get("wasm-function[2]")).toBeCloseTo(0.9, 9);
    expect(t.has("[wasm: matmuls]")).toBe(false);
  });

  it("refuses a sample naming a node the profile lacks", () => {
    expect(() => selfTimes({ ...profile, samples: [9] })).toThrow(/node 9/);
  });

  it("classifies frames", () => {
    expect(kind(frame("(program)"))).toBe("program");
    expect(kind(frame("$func", ""))).toBe("wasm");
    expect(kind(frame("js-to-wasm:i:", ""))).toBe("JS");
  });

  it("numbers functions as wasm does: imports first", () => {
    const wat = [
      '(module',
      ' (import "env" "abort" (func $~lib/builtins/abort (param i32)))',
      ' (func $kernels/wasm/quantize-act/quantize_q8_0 (param $0 i32)',
      ' )',
      ' (func $kernels/wasm/rope/rope (param $0 i32)',
      '  (func $not/top/level)',
      ' )',
    ].join("\n");
    expect(parseWatFunctionNames(wat)).toEqual(["abort", "quantize_q8_0", "rope"]);
  });
});
