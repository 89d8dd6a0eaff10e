// In-place softmax of each row (max-subtracted); one workgroup per row.
//#include common.wgsl
//#include reduce.wgsl

@group(0) @binding(1) var<storage, read_write> X: array<f32>;

// P.a = (rows, len).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = flat_group(wg);
  if (r >= P.a.x) {
    return;
  }
  let len = P.a.y;
  let base = r * len;
  var m = NEG_MAX;
  for (var i = lid; i < len; i += WG) {
    m = max(m, X[base + i]);
  }
  m = wg_max(m, lid);
  var sum = 0.0;
  for (var i = lid; i < len; i += WG) {
    let e = exp(X[base + i] - m);
    X[base + i] = e;
    sum += e;
  }
  let inv = 1.0 / wg_sum(sum, lid);
  for (var i = lid; i < len; i += WG) {
    X[base + i] *= inv;
  }
}
