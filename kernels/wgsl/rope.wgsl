// RoPE (llama NORM): rotates adjacent pairs (2i, 2i+1) of each head in place by pos · freqScale · base^(-2i/ropeDims).
//#include common.wgsl

@group(0) @binding(1) var<storage, read_write> X: array<f32>;

// P.a = (nTokens, nHeads, headDim, ropeDims), P.b.x = pos0, P.f = (freqBase, freqScale); one thread per pair.
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
  let base = th * P.a.z + 2u * i;
  // llama.cpp computes the angle in f32 as well; the error grows with the position (≈1e-4 rad at 2048).
  let freq = exp2(-f32(2u * i) / f32(P.a.w) * log2(P.f.x));
  let theta = f32(P.b.x + t) * P.f.y * freq;
  let c = cos(theta);
  let s = sin(theta);
  let a = X[base];
  let b = X[base + 1u];
  X[base] = a * c - b * s;
  X[base + 1u] = a * s + b * c;
}
