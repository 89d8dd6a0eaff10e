// Public surface of the quantization module: f16/bf16 conversion, dequantization of ggml types, reference quantizers.
export { F16_TO_F32, bf16Table, bf16ToF32, f16ToF32, f32BitsToF16, f32ToBf16, f32ToF16 } from "./f16";
export { dequantize, dequantizableTypes, dequantizeRow, isDequantizable } from "./dequantize";
export { quantizeQ4_1, quantizeQ5_0, quantizeQ5_1 } from "./quantize-legacy";
export { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from "./quantize-kquants";
export { QUANTIZE_TYPES, quantize, quantizeBF16, quantizeF16, quantizeF32, quantizeQ4_0, quantizeQ8_0 } from "./quantize";
