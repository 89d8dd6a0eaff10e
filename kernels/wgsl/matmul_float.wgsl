// Matrix × vectors for F32, F16 and BF16 weights (WTYPE), any row length: out[t, rowOffset + r] = Σ_c w[r, c] · x[t, c].
//#include common.wgsl
//#include blocks.wgsl

override WTYPE: u32 = 0u;
// Threads per row (a power of two ≤ 64): short rows share a workgroup, which costs far less than a workgroup each.
override SPLIT: u32 = 64u;
const TT: u32 = 4u; // tokens per workgroup: each weight element is decoded once and used TT times

@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

var<workgroup> red: array<f32, 256>; // TT × WG partial sums

// P.a = (rows of this chunk, cols, nTokens, rowOffset), P.b.x = out row stride (all rows);
// grid: (rows / (WG / SPLIT), tokens / TT).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % SPLIT;
  let r = flat_group(wg) * (WG / SPLIT) + lid / SPLIT;
  let live = r < P.a.x; // rows past the end still take part in the barriers
  let cols = P.a.y;
  let t0 = wg.z * TT;
  let nt = min(TT, P.a.z - t0);
  let row = r * row_bytes(WTYPE, cols);
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var c = lane; live && c < cols; c += SPLIT) {
    let w = weight_at(WTYPE, row, c);
    for (var t = 0u; t < nt; t++) {
      var x = X[(t0 + t) * cols + c];
      // ggml feeds F16 and BF16 weights activations rounded to their type.
      if (WTYPE == TYPE_F16) {
        x = round_f16(x);
      } else if (WTYPE == TYPE_BF16) {
        x = round_bf16(x);
      }
      acc[t] += w * x;
    }
  }
  //#include reduce-out.wgsl
}
