// Engine probes, asked once per instance: fused i32 dot-adds (one AVX-VNNI vpdpbusd); i16 dots reading 7-bit operands unsigned.

// 16 bytes of 127 and 16 of 0xff: the probe's operands, loaded from memory so that no optimizer folds the probe.
const PROBE: usize = memory.data<u8>([127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127, 127,
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
let fused: i32 = -1;
let engineFused: i32 = -1;

/** The engine's own answer to dot_add_fused's probe, which set_dot_add_fused does not override (Q8D needs vpdpbusd). */
export function vnni(): bool {
  if (!ASC_FEATURE_RELAXED_SIMD) return false;
  if (engineFused < 0) {
    const r = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(PROBE), v128.load(PROBE, 16), i32x4.splat(0));
    engineFused = i32x4.extract_lane(r, 0) == 129540 ? 1 : 0;
  }
  return engineFused == 1;
}

/**
 * Whether this engine runs i32x4.relaxed_dot_i8x16_i7x16_add_s as one AVX-VNNI vpdpbusd (workerd's V8 where the CPU
 * has it) rather than pmaddubsw + pmaddwd + add (Node 22's V8; the i16 form is then a third cheaper per step). The two
 * differ, legitimately for relaxed SIMD, on a 7-bit operand past 127: vpdpbusd sums 4·127·255 = 129540 exactly where
 * pmaddubsw saturates its pair sums at 32767. Asked once per instance. Our own operands (nibbles, |q| ≤ 127) stay in
 * range, so both give the same exact sums: the answer picks a speed, never a result. 1 or 0 (0 on SIMD128). Q8_0's
 * fused tiles, whose offset weights (up to 255) would saturate pmaddubsw, follow vnni() instead, which no test overrides.
 */
export function dot_add_fused(): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  if (fused < 0) fused = vnni() ? 1 : 0;
  return fused;
}

/** Sets dot_add_fused's answer for this instance (0 or 1; −1 asks the engine again): the tests run both forms anywhere. */
export function set_dot_add_fused(v: i32): void {
  fused = v;
}

// -1 (i8) and 200 in the low pair, -8 and 255 in the next: split Q8_0's largest operands (decode-q8-split.ts).
const PROBE_U: usize = memory.data<u8>([0xff, 0xff, 0xf8, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  200, 200, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
let unsignedDot: i32 = -1;

/**
 * Whether i16x8.relaxed_dot_i8x16_i7x16_s reads its second operand's bytes past 127 as unsigned, unsaturated at our
 * sizes (x86's pmaddubsw: -1·200·2 = -400, -8·255·2 = -4080): relaxed SIMD leaves those bytes to the engine, so split
 * Q8_0 decode (offset weights 0..255 against activation nibbles -8..7) runs only where this answers 1. Asked once
 * per instance; 0 on SIMD128 or after set_dot_i7_unsigned(0).
 */
export function dot_i7_unsigned(): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  if (unsignedDot < 0) {
    const r = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(PROBE_U), v128.load(PROBE_U, 16));
    unsignedDot = i16x8.extract_lane_s(r, 0) == -400 && i16x8.extract_lane_s(r, 1) == -4080 ? 1 : 0;
  }
  return unsignedDot;
}

/** 0: dot_i7_unsigned answers 0 in this instance (the tests hold the other forms); anything else asks the engine again. */
export function set_dot_i7_unsigned(v: i32): void {
  unsignedDot = v == 0 ? 0 : -1;
}
