// A synthetic model in one of llama.cpp's quantization mixes (q4_k_m, ...): synthesized as F32, then quantized as llama_model_quantize does.
import { readGguf, writeGguf } from "../../src/gguf/index";
import { QUANT_MIXES, type QuantMix } from "./quant-mix";
import { quantizeModel } from "./quantize-model";
import { SYNTH_TYPES, synthModel, type SynthShapeName } from "./synth/model";

/** Whether `type` names a mix rather than a single synthesizable type (q4_0 and q8_0 are both: the pure type wins). */
export function isMixOnly(type: string): type is QuantMix {
  return Object.hasOwn(QUANT_MIXES, type) && !Object.hasOwn(SYNTH_TYPES, type);
}

/**
 * The F32 model of `shape`, quantized with llama.cpp's `mix` rules: the file llama-quantize would write from it
 * (SmolLM2-135M's q4_k_m: about 20 s and a transient 540 MB F32 file in Node).
 */
export function synthMixModel(shape: SynthShapeName, mix: QuantMix, seed: number): Uint8Array {
  const f32 = synthModel({ shape, type: "f32", seed });
  return writeGguf(quantizeModel(readGguf(f32), { type: mix }).spec);
}
