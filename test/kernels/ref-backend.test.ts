// Runs the shared conformance suite against the reference backend in exact-float mode (its specification role).
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { EXACT_TOLERANCES, runConformance } from "./backend-conformance.case";

runConformance("ref (f32 activations)", () => new RefBackend({ activations: "f32" }), EXACT_TOLERANCES);

// With ggml-style activation rounding, quantized matmuls differ from exact math by the Q8_0 / f16 rounding of the
// inputs: relative error per element up to 1/254 (Q8_0) or 2^-11 (f16), i.e. NMSE around 1e-5; 1e-4 bounds it.
runConformance("ref (ggml activations)", () => new RefBackend({ activations: "ggml" }), { ...EXACT_TOLERANCES, matmulQuantized: 1e-4 });
