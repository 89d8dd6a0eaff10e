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
