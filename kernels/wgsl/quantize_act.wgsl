// Activations to ggml's matmul input formats: Q8_0/Q8_1 (32-blocks, d = amax/127 as f16, q = round-half-even(x·127/amax),
// as ggml's x86 quantize_row_q8_0/_q8_1; Q8_1's s = f16(d·Σq)) or Q8_K (256-blocks, as quantize_row_q8_K_ref).
//#include common.wgsl

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> XQ: array<u32>;        // int8 quants, 8 packed words per 32
@group(0) @binding(3) var<storage, read_write> XDS: array<vec4<f32>>; // per 32: d, Σq of each 16-half, Q8_1's s

// P.a.x = number of blocks, P.a.y = 0 for 32-element Q8_0/Q8_1 blocks, 1 for 256-element Q8_K blocks; a thread each.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = flat_group(wg) * WG + lid;
  if (b >= P.a.x) {
    return;
  }
  let k = P.a.y == 1u;
  let n = select(32u, 256u, k);
  let x0 = b * n;
  // Q8_K keeps the signed element of largest magnitude (the first, on ties); Q8_0 only its magnitude.
  var amax = 0.0;
  var vmax = 0.0;
  for (var i = 0u; i < n; i++) {
    let v = X[x0 + i];
    if (abs(v) > amax) {
      amax = abs(v);
      vmax = v;
    }
  }
  var id = 0.0; // multiplier to quants
  var d = 0.0;  // stored scale
  var d32 = 0.0;
  if (amax != 0.0) {
    if (k) {
      id = -127.0 / vmax;
      d = 1.0 / id;
    } else {
      id = 127.0 / amax;
      d32 = amax / 127.0;
      d = f16_rne(d32);
    }
  }
  for (var g = 0u; g < n / 32u; g++) {
    var sums = vec2<i32>(0i, 0i);
    for (var j = 0u; j < 8u; j++) {
      var word = 0u;
      for (var e = 0u; e < 4u; e++) {
        let q = min(127i, i32(round(X[x0 + g * 32u + j * 4u + e] * id))); // round(): half to even
        sums[j / 4u] += q;
        word |= (bitcast<u32>(q) & 0xffu) << (8u * e);
      }
      XQ[(x0 / 32u + g) * 8u + j] = word;
    }
    XDS[x0 / 32u + g] = vec4<f32>(d, f32(sums.x), f32(sums.y), f16_rne(d32 * f32(sums.x + sums.y)));
  }
}
