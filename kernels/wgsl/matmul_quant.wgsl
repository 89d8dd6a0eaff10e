// Matrix × vectors for Q8_0 and Q4_0 weights (WTYPE) against Q8_0-quantized activations, as ggml's CPU kernels
// compute it: per 32-block an exact integer dot (dot4I8Packed), scaled by the two f16 block scales.
//#include common.wgsl
//#include blocks.wgsl

override WTYPE: u32 = 8u;
// Threads per row (a power of two ≤ 64): short rows share a workgroup, which costs far less than a workgroup each.
override SPLIT: u32 = 64u;
const TT: u32 = 4u; // tokens per workgroup: each weight block is decoded once and used TT times

@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> XQ: array<u32>;        // activation quants, 8 packed words per block
@group(0) @binding(3) var<storage, read> XDS: array<vec2<f32>>; // per block: scale d (f16-rounded), Σ quants
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;

var<workgroup> red: array<f32, 256>;

// P.a = (rows of this chunk, cols, nTokens, rowOffset), P.b.x = out row stride (all rows);
// grid: (rows / (WG / SPLIT), tokens / TT).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % SPLIT;
  let r = flat_group(wg) * (WG / SPLIT) + lid / SPLIT;
  let live = r < P.a.x; // rows past the end still take part in the barriers
  let nb = P.a.y / 32u;
  let t0 = wg.z * TT;
  let nt = min(TT, P.a.z - t0);
  let bb = block_bytes(WTYPE);
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var b = lane; live && b < nb; b += SPLIT) {
    let o = r * nb * bb + b * bb;
    let dw = half_at(o);
    var wq: array<u32, 8>;
    if (WTYPE == TYPE_Q8_0) {
      for (var j = 0u; j < 8u; j++) {
        wq[j] = word_at(o + 2u + 4u * j);
      }
    } else {
      // Nibbles 0..15 as unsigned bytes; the -8 offset is applied once per block through Σ quants below.
      for (var j = 0u; j < 4u; j++) {
        let w = word_at(o + 2u + 4u * j);
        wq[j] = w & 0x0f0f0f0fu;
        wq[j + 4u] = (w >> 4u) & 0x0f0f0f0fu;
      }
    }
    for (var t = 0u; t < nt; t++) {
      let xb = (t0 + t) * nb + b;
      var s = 0i;
      for (var j = 0u; j < 8u; j++) {
        s += dot4I8Packed(wq[j], XQ[xb * 8u + j]);
      }
      let xds = XDS[xb];
      if (WTYPE == TYPE_Q4_0) {
        s -= 8i * i32(xds.y);
      }
      acc[t] += f32(s) * (dw * xds.x);
    }
  }
  //#include reduce-out.wgsl
}
