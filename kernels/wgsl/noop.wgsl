// Benchmark baseline: a dispatch that does (almost) nothing, to measure per-dispatch and per-submission overhead.
//#include common.wgsl

@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;

// P.a.x = index written.
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    OUT[P.a.x] = 1.0;
  }
}
