// Matrix × vectors for every quantized weight type (WTYPE) against ggml's activation format for it (Q8_0 for Q8_0,
// Q4_0, Q5_0; Q8_1 for Q4_1, Q5_1; Q8_K for K-quants), as ggml's CPU vec_dot kernels compute it: per 32 weights
// exact integer dots (dot4I8Packed) of each 16-half, scaled by the weight and activation scales; mins through the
// activations' per-16 sums (K-quants) or Q8_1's f16 s = d·Σq (Q4_1, Q5_1).
//#include common.wgsl
//#include blocks.wgsl

override WTYPE: u32 = 8u;
// Threads per row (a power of two ≤ 64): short rows share a workgroup, which costs far less than a workgroup each.
override SPLIT: u32 = 64u;
const TT: u32 = 4u; // tokens per workgroup: each weight group is decoded once and used TT times

@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> XQ: array<u32>;        // activation quants, 8 packed words per 32
@group(0) @binding(3) var<storage, read> XDS: array<vec4<f32>>; // per 32: scale d, Σ quants of each 16-half, Q8_1's s
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;

var<workgroup> red: array<f32, 256>;

// P.a = (rows of this chunk, cols, nTokens, rowOffset), P.b.x = out row stride (all rows);
// grid: (rows / (WG / SPLIT), tokens / TT).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % SPLIT;
  let r = flat_group(wg) * (WG / SPLIT) + lid / SPLIT;
  let live = r < P.a.x; // rows past the end still take part in the barriers
  let ng = P.a.y / 32u;
  let t0 = wg.z * TT;
  let nt = min(TT, P.a.z - t0);
  let row = r * row_bytes(WTYPE, P.a.y);
  let kquant = block_elems(WTYPE) == 256u;
  let q8_1 = WTYPE == TYPE_Q4_1 || WTYPE == TYPE_Q5_1;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var g = lane; live && g < ng; g += SPLIT) {
    let w = decode_group(WTYPE, row, g);
    for (var t = 0u; t < nt; t++) {
      let xg = (t0 + t) * ng + g;
      var s0 = 0i;
      var s1 = 0i;
      for (var j = 0u; j < 4u; j++) {
        s0 += dot4I8Packed(w.q[j], XQ[xg * 8u + j]);
        s1 += dot4I8Packed(w.q[j + 4u], XQ[xg * 8u + j + 4u]);
      }
      let x = XDS[xg];
      if (kquant) {
        // Q8_K: one d per 256, so the group's sum is d·(Σ scale·isum + Σ offset·Σq), offsets being −dmin·m.
        acc[t] += x.x * ((w.a.x * f32(s0) + w.a.y * f32(s1)) + (w.b.x * x.y + w.b.y * x.z));
      } else {
        acc[t] += f32(s0 + s1) * (w.a.x * x.x);
        if (q8_1) {
          acc[t] += w.b.x * x.w;
        }
      }
    }
  }
  //#include reduce-out.wgsl
}
