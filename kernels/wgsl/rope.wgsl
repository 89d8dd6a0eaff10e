// RoPE in place: pair i of each head ((2i, 2i+1) "norm", (i, i + ropeDims/2) "neox") turned by the angle the host's table gives.
//#include common.wgsl

@group(0) @binding(1) var<storage, read> TABLE: array<vec2<f32>>; // [t · ropeDims/2 + i] = (cos θ, sin θ), rope-table.ts
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

// P.a = (nTokens, nHeads, headDim, ropeDims), P.b.y = 1 for neox; one thread per pair. The angles come from the host
// (ggml's f32 angle recurrence, cos/sin rounded from double): GPU sin/cos are approximations.
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
  let cs = TABLE[t * half_dims + i];
  let a = X[ia];
  let b = X[ib];
  // As ggml's rotate_pairs compiles: x0·cos fused with the rounded x1·sin.
  X[ia] = fma(a, cs.x, -(b * cs.y));
  X[ib] = fma(a, cs.y, b * cs.x);
}
