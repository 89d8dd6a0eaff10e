// Rounds f32 values in place to what an f16 or Q8_0 KV cache holds (the webgpu backend keeps typed caches as rounded f32).
//#include common.wgsl

@group(0) @binding(1) var<storage, read_write> X: array<f32>;

// P.a = (first element, elements, mode: 1 f16, 2 q8_0). f16: one element per invocation. q8_0: one 32-block per
// invocation, as ggml's x86 quantize_row_q8_0: d = f16(amax/127), q = round-half-even(x · (127/amax)), value d·q.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_group(wg) * WG + lid;
  let base = P.a.x;
  if (P.a.z == 1u) {
    if (i < P.a.y) {
      X[base + i] = f16_rne(X[base + i]);
    }
    return;
  }
  if (i >= P.a.y / 32u) {
    return;
  }
  let o = base + i * 32u;
  var amax = 0.0;
  for (var j = 0u; j < 32u; j++) {
    amax = max(amax, abs(X[o + j]));
  }
  let d = f16_rne(amax / 127.0);
  var id = 0.0;
  if (amax != 0.0) {
    id = 127.0 / amax;
  }
  for (var j = 0u; j < 32u; j++) {
    X[o + j] = round(X[o + j] * id) * d;
  }
}
