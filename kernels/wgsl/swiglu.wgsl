// SwiGLU: out[i] = silu(gate[i]) · up[i].
//#include common.wgsl

@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

// P.a.x = n; one thread per element.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_group(wg) * WG + lid;
  if (i < P.a.x) {
    let g = G[i];
    OUT[i] = g / (1.0 + exp(-g)) * U[i];
  }
}
