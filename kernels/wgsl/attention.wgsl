// Causal attention over the KV cache with GQA: one workgroup per (token, KV head, chunk of ≤ 8 query heads sharing it);
// each K row and V element is loaded once and used for every query head of the chunk. Positions go by tiles of 64
// with a running (online) softmax, so scores never leave workgroup memory.
//#include common.wgsl

const HG: u32 = 8u; // query heads per workgroup
const MAX_HD: u32 = 128u; // largest head dimension

@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;

// Everything that lives across a barrier is in workgroup memory: Mesa's GL compute (llvmpipe) does not keep
// per-invocation arrays intact across barriers, and reductions here are serial per head (no barrier in a loop).
var<workgroup> tile: array<f32, 512>; // [head][position in tile]: scores, then softmax numerators
var<workgroup> accw: array<f32, 1024>; // [head][dimension]: running weighted sum of V
var<workgroup> stats: array<f32, 24>; // per head: running max, running denominator, rescale of this tile

// P.a = (nHeads, nKvHeads, headDim), P.b = (pos0, nTokens, head chunks per KV head), P.f.x = 1/sqrt(headDim).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let nHeads = P.a.x;
  let nKv = P.a.y;
  let hd = P.a.z;
  let chunks = P.b.z;
  let id = flat_group(wg);
  if (id >= P.b.y * nKv * chunks) {
    return;
  }
  let t = id / (nKv * chunks);
  let kh = (id / chunks) % nKv;
  let group = nHeads / nKv;
  let h0 = kh * group + (id % chunks) * HG;
  let hn = min(HG, kh * group + group - h0);
  let nPos = P.b.x + t + 1u;
  let kvDim = nKv * hd;
  let qBase = (t * nHeads + h0) * hd;

  if (lid < HG) {
    stats[lid] = NEG_MAX;
    stats[HG + lid] = 0.0;
  }
  for (var i = lid; i < HG * MAX_HD; i += WG) {
    accw[i] = 0.0;
  }
  let tiles = (nPos + WG - 1u) / WG;
  for (var tt = 0u; tt < tiles; tt++) {
    let base = tt * WG;
    // Thread lid scores position base + lid against every head of the chunk (one K load per element).
    let p = base + lid;
    let live = p < nPos;
    var s = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    if (live) {
      for (var d = 0u; d < hd; d++) {
        let k = K[p * kvDim + kh * hd + d];
        for (var g = 0u; g < hn; g++) {
          s[g] += Q[qBase + g * hd + d] * k;
        }
      }
    }
    for (var g = 0u; g < hn; g++) {
      tile[g * WG + lid] = s[g] * P.f.x;
    }
    workgroupBarrier();
    // Thread g < hn folds this tile into head g's running max and denominator (serially: no barrier in a loop).
    let n = min(WG, nPos - base);
    if (lid < hn) {
      let g = lid;
      let mOld = stats[g];
      var mNew = mOld;
      for (var i = 0u; i < n; i++) {
        mNew = max(mNew, tile[g * WG + i]);
      }
      var sum = 0.0;
      for (var i = 0u; i < n; i++) {
        let e = exp(tile[g * WG + i] - mNew);
        tile[g * WG + i] = e;
        sum += e;
      }
      let c = exp(mOld - mNew);
      stats[g] = mNew;
      stats[HG + g] = stats[HG + g] * c + sum;
      stats[2u * HG + g] = c;
    }
    workgroupBarrier();
    // Thread lid owns dimensions lid, lid + WG: rescale, then add this tile's weighted V rows (one V load per head).
    for (var d = lid; d < hd; d += WG) {
      var acc = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
      for (var g = 0u; g < hn; g++) {
        acc[g] = accw[g * MAX_HD + d] * stats[2u * HG + g];
      }
      for (var i = 0u; i < n; i++) {
        let v = V[(base + i) * kvDim + kh * hd + d];
        for (var g = 0u; g < hn; g++) {
          acc[g] += tile[g * WG + i] * v;
        }
      }
      for (var g = 0u; g < hn; g++) {
        accw[g * MAX_HD + d] = acc[g];
      }
    }
    workgroupBarrier(); // the tile is rewritten by the next round
  }
  for (var d = lid; d < hd; d += WG) {
    for (var g = 0u; g < hn; g++) {
      OUT[qBase + g * hd + d] = accw[g * MAX_HD + d] / stats[HG + g];
    }
  }
}
