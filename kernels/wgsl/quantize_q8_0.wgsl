// Activations to Q8_0 blocks (ggml's reference quantizer): d = amax / 127 kept as f16, q = round-half-away(x / d).
//#include common.wgsl

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> XQ: array<u32>;
@group(0) @binding(3) var<storage, read_write> XDS: array<vec2<f32>>;

fn round_away(v: f32) -> f32 {
  let a = abs(v);
  let f = floor(a);
  return sign(v) * (f + select(0.0, 1.0, a - f >= 0.5));
}

// P.a.x = number of 32-element blocks; one thread per block.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = flat_group(wg) * WG + lid;
  if (b >= P.a.x) {
    return;
  }
  var amax = 0.0;
  for (var i = 0u; i < 32u; i++) {
    amax = max(amax, abs(X[b * 32u + i]));
  }
  let d = amax / 127.0;
  let id = select(0.0, 1.0 / d, d != 0.0);
  var sum = 0i;
  for (var j = 0u; j < 8u; j++) {
    var word = 0u;
    for (var k = 0u; k < 4u; k++) {
      let q = i32(round_away(X[b * 32u + j * 4u + k] * id));
      sum += q;
      word |= (bitcast<u32>(q) & 0xffu) << (8u * k);
    }
    XQ[b * 8u + j] = word;
  }
  XDS[b] = vec2<f32>(unpack2x16float(pack2x16float(vec2<f32>(d, 0.0))).x, f32(sum));
}
