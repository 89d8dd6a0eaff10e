// Bias add in place: X[t, j] += BIAS[j] for rows of len floats (qwen2's q/k/v projection biases).
//#include common.wgsl

@group(0) @binding(1) var<storage, read> BIAS: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

// P.a = (n elements, len); one thread per element.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_group(wg) * WG + lid;
  if (i < P.a.x) {
    X[i] += BIAS[i % P.a.y];
  }
}
