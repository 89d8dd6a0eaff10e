// Residual add in place: acc[i] += b[i] (the backend copies a into out first when they differ).
//#include common.wgsl

@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> ACC: array<f32>;

// P.a.x = n; one thread per element.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_group(wg) * WG + lid;
  if (i < P.a.x) {
    ACC[i] += B[i];
  }
}
