// Runs the shared conformance suite against the reference backend in exact-float mode (its specification role).
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { describe, expect, it } from "vitest";
import { GgmlType } from "../../src/gguf/ggml-types";
import { dequantizableTypes } from "../../src/quant/index";
import { CONFORMANCE_WEIGHT_TYPES, EXACT_TOLERANCES, runConformance } from "./backend-conformance.case";

runConformance("ref (f32 activations)", () => new RefBackend({ activations: "f32" }), EXACT_TOLERANCES);

// With ggml-style activation rounding, quantized matmuls differ from exact math by the Q8_0 / f16 rounding of the
// inputs (up to 1/254 of a block's largest element per element). A dot product of a single 32-element block can lose
// most of its magnitude to cancellation, which lifts the NMSE to a few 1e-4 (measured 3.5e-4 on 1x32); we use the
// bound ggml's own test-backend-ops applies to quantized mul_mat, 5e-4. Its rope is ggml's f32 rope (theta multiplied
// by powf(base, -2/n) pair after pair in f32, f32 cos/sin), which drifts from float64 math with the position:
// measured 1.9e-10 NMSE at position 2040, so elementwise ops get 1e-9 here.
runConformance("ref (ggml activations)", () => new RefBackend({ activations: "ggml" }), { ...EXACT_TOLERANCES, matmulQuantized: 5e-4, elementwise: 1e-9 });

describe("ref weight types", () => {
  it("every type the ref backend loads is exercised by the shared conformance suite", () => {
    const ref = new RefBackend();
    for (const type of dequantizableTypes()) {
      expect(ref.supportsWeightType(type)).toBe(true);
      expect(CONFORMANCE_WEIGHT_TYPES, GgmlType[type]).toContain(type);
    }
  });
});
