// RMSNorm: out[t, i] = x[t, i] / sqrt(mean(x[t, :]²) + eps) · w[i]; one workgroup per token.
//#include common.wgsl
//#include reduce.wgsl

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> NW: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

// P.a = (dim, nTokens), P.f.x = eps.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flat_group(wg);
  if (t >= P.a.y) {
    return;
  }
  let dim = P.a.x;
  let base = t * dim;
  var ss = 0.0;
  for (var i = lid; i < dim; i += WG) {
    let v = X[base + i];
    ss += v * v;
  }
  let scale = 1.0 / sqrt(wg_sum(ss, lid) / f32(dim) + P.f.x);
  for (var i = lid; i < dim; i += WG) {
    OUT[base + i] = X[base + i] * scale * NW[i];
  }
}
