// Embedding lookup: out[t, :] = row tokens[t] of the table (any weight type, WTYPE), for tokens in this chunk's rows.
//#include common.wgsl
//#include blocks.wgsl

override WTYPE: u32 = 0u;

@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

// P.a = (nTokens here (≤ 48), cols, first row of the chunk, rows of the chunk), P.b.x = first output row,
// P.tok = the token ids; one thread per (token, column).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let id = flat_group(wg) * WG + lid;
  let cols = P.a.y;
  let t = id / cols;
  if (t >= P.a.x) {
    return;
  }
  let c = id % cols;
  let token = P.tok[t / 4u][t % 4u];
  if (token < P.a.z || token >= P.a.z + P.a.w) {
    return; // another chunk holds this row
  }
  OUT[(P.b.x + t) * cols + c] = weight_at(WTYPE, (token - P.a.z) * row_bytes(WTYPE, cols), c);
}
