// Weighted quickselect: the partial selection behind the sampler's top-k and top-p, without a full sort.

/**
 * Weighted quickselect: reorders idx[0..m) so that idx[0..r) are the best candidates (higher logit, then lower id)
 * with r minimal such that their total weight (weight[id], or 1 each when weight is null) reaches `target`; returns
 * r. Expected O(m), and nothing is sorted except candidates tied at the boundary (by id), which is what makes top-p
 * over a 50k vocabulary cheap when the nucleus holds thousands of tokens. If rounding keeps the total just under
 * target, everything still in range is kept (llama.cpp keeps everything in that case too). Candidates must not be
 * NaN (the sampler only passes finite ones). Exported for tests.
 */
export function selectBest(work: Float32Array, idx: Int32Array, m: number, weight: Float64Array | null, target: number): number {
  let lo = 0;
  let hi = m;
  if (!(target > 0)) return 0;
  let above = 0; // weight of idx[0..lo), all better than anything in idx[lo..hi)
  let lcg = m | 0; // pivots at LCG positions: deterministic, and sorted, reversed or tied logits are no worse case
  while (lo < hi) {
    lcg = (Math.imul(lcg, 1664525) + 1013904223) | 0;
    const pivot = work[idx[lo + ((lcg >>> 0) % (hi - lo))]!]!;
    // Three-way partition of idx[lo..hi) into [> pivot | == pivot | < pivot], summing the first two parts.
    let lt = lo;
    let i = lo;
    let gt = hi;
    let gtWeight = 0;
    let eqWeight = 0;
    while (i < gt) {
      const id = idx[i]!;
      const v = work[id]!;
      if (v > pivot) {
        idx[i++] = idx[lt]!;
        idx[lt++] = id;
        gtWeight += weight ? weight[id]! : 1;
      } else if (v < pivot) {
        idx[i] = idx[--gt]!;
        idx[gt] = id;
      } else {
        i++;
        eqWeight += weight ? weight[id]! : 1;
      }
    }
    if (above + gtWeight >= target) {
      hi = lt; // the boundary is among the strictly better ones
    } else if (above + gtWeight + eqWeight >= target) {
      idx.subarray(lt, gt).sort(); // ties: lowest ids first
      let cum = above + gtWeight;
      let r = lt;
      while (r < gt && cum < target) {
        cum += weight ? weight[idx[r]!]! : 1;
        r++;
      }
      return r;
    } else {
      above += gtWeight + eqWeight;
      lo = gt;
    }
  }
  return hi;
}
