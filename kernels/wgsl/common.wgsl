// Shared by every kernel: the per-dispatch parameter block and flattened workgroup ids (included by build-wgsl.mjs).

// One 256-byte slot of the parameter arena, bound with a dynamic offset; each kernel documents its fields.
struct Params {
  a: vec4<u32>,
  b: vec4<u32>,
  f: vec4<f32>,
  tok: array<vec4<u32>, 12>,
}

@group(0) @binding(0) var<uniform> P: Params;

const WG: u32 = 64u;

// Workgroups beyond 65535 spill into y: the host dispatches (nx, ny) and passes nx in P.b.w.
fn flat_group(wg: vec3<u32>) -> u32 {
  return wg.y * P.b.w + wg.x;
}

// The most negative finite f32: the start of every running max.
const NEG_MAX: f32 = bitcast<f32>(0xff7fffffu);

// f32 rounded to the nearest f16, ties to even, and back; overflow gives ±inf. Bit arithmetic rather than
// pack2x16float, whose rounding WGSL leaves to the implementation (NVIDIA's drivers truncate where Mesa rounds).
fn f16_rne(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let sign = u & 0x80000000u;
  let a = u & 0x7fffffffu;
  if (a >= 0x38800000u) {
    // Normal f16 range: keep 10 of the 23 mantissa bits, rounding the 13 dropped ones half to even.
    let t = (a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u;
    if (t > 0x477fe000u) {
      return bitcast<f32>(sign | 0x7f800000u);
    }
    return bitcast<f32>(sign | t);
  }
  // Subnormal f16: multiples of 2^-24; scaling by a power of two is exact and round() is half to even.
  let q = round(bitcast<f32>(a) * 16777216.0) * (1.0 / 16777216.0);
  return bitcast<f32>(sign | bitcast<u32>(q));
}
