// The wasm greedy-pick kernel (kernels/wasm/argmax.ts) against the TS pick (src/shard/greedy.ts bestOf) on both builds.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { MAX_F32 } from "../../src/engine/sampler-logits";
import { bestOf } from "../../src/shard/greedy";
import { argmaxRow, ROW_KINDS, rowRng } from "./argmax-rows";

const builds = [
  ["simd128", () => kernelModules().simd128],
  ["relaxed", () => kernelModules().relaxed!],
] as const;

describe.each(builds)("argmax_f32 (%s build)", (_name, module) => {
  const backend = new WasmBackend(module());
  /** The backend's pick of `row`, written at `offset` floats into a buffer (so rows start off 16-byte alignment too). */
  const pickOf = (row: Float32Array, offset = 0) => {
    const buf = backend.createBuffer(offset + row.length);
    backend.write(buf, row, offset);
    const got = backend.argmax(buf, offset, row.length);
    backend.release(buf);
    return got;
  };
  const expectSame = (row: Float32Array, offset = 0) => {
    const want = bestOf(row, 0);
    const got = pickOf(row, offset);
    expect({ token: got.index, logit: got.value }).toEqual(want);
  };

  it("matches the TS pick on every kind of row of lengths 1..37, at aligned and unaligned offsets", () => {
    const rand = rowRng(7);
    let finite = 0;
    for (const kind of ROW_KINDS) {
      for (let n = 1; n <= 37; n++) {
        for (let rep = 0; rep < 6; rep++) {
          const row = argmaxRow(kind, n, rand);
          expectSame(row, rep % 3);
          if (bestOf(row, 0).token >= 0) finite++;
        }
      }
    }
    // The rows exercise both answers: a pick, and "no finite logit".
    expect(finite).toBeGreaterThan(500);
  });

  it("matches the TS pick on rows of 49,152 logits (SmolLM2's vocabulary)", () => {
    const rand = rowRng(11);
    for (const kind of ROW_KINDS) {
      for (let rep = 0; rep < 3; rep++) expectSame(argmaxRow(kind, 49_152, rand), rep);
    }
  });

  it("applies the sampler's rules: ties to the lowest id, +Inf ties an earlier max float, NaN and -Inf never win", () => {
    const row = new Float32Array(49_152).fill(-1);
    row[40_000] = 7;
    row[30_001] = 7;
    row[45_000] = 7;
    expect(pickOf(row)).toEqual({ index: 30_001, value: 7 });
    row[20_000] = Infinity;
    row[25_000] = MAX_F32;
    row[10_003] = NaN;
    expect(pickOf(row)).toEqual({ index: 20_000, value: MAX_F32 });
    row[19_999] = MAX_F32;
    expect(pickOf(row)).toEqual({ index: 19_999, value: MAX_F32 });
    // The best in the scalar tail (49,152 + 3 floats: the last 3 are past the vector loop).
    const tail = new Float32Array(49_155).fill(NaN);
    tail[49_154] = -5;
    tail[49_153] = -5;
    expect(pickOf(tail)).toEqual({ index: 49_153, value: -5 });
    expect(pickOf(new Float32Array(49_152).fill(-Infinity))).toEqual({ index: -1, value: -Infinity });
  });

  it("refuses a range past the buffer", () => {
    const buf = backend.createBuffer(8);
    expect(() => backend.argmax(buf, 4, 5)).toThrowError(/overflows/);
    backend.release(buf);
  });
});
