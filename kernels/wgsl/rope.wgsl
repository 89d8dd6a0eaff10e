// RoPE in place: pair i of each head ((2i, 2i+1) "norm", (i, i + ropeDims/2) "neox") turns by pos · freqScale · base^(-2i/ropeDims) / factor[i].
//#include common.wgsl

@group(0) @binding(1) var<storage, read> FACTORS: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

// P.a = (nTokens, nHeads, headDim, ropeDims), P.b = (pos0, neox, has factors), P.f = (freqBase, freqScale);
// one thread per pair. Without factors FACTORS is a placeholder buffer that is never read.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let half_dims = P.a.w / 2u;
  let id = flat_group(wg) * WG + lid;
  if (id >= P.a.x * P.a.y * half_dims) {
    return;
  }
  let i = id % half_dims;
  let th = id / half_dims; // t * nHeads + h
  let t = th / P.a.y;
  let head = th * P.a.z;
  var ia = head + 2u * i;
  var ib = ia + 1u;
  if (P.b.y == 1u) {
    ia = head + i;
    ib = ia + half_dims;
  }
  // llama.cpp computes the angle in f32 as well; the error grows with the position (≈1e-4 rad at 2048).
  let freq = exp2(-f32(2u * i) / f32(P.a.w) * log2(P.f.x));
  var theta = f32(P.b.x + t) * P.f.y * freq;
  if (P.b.z == 1u) {
    theta = theta / FACTORS[i];
  }
  let c = cos(theta);
  let s = sin(theta);
  let a = X[ia];
  let b = X[ib];
  X[ia] = a * c - b * s;
  X[ib] = a * s + b * c;
}
