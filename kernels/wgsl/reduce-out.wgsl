  // Tree reduction of each row's SPLIT partial sums (TT tokens at once); the row's first thread writes them.
  // SPLIT is a pipeline constant, so the barriers sit in a loop of constant trip count; nt bounds only barrier-free loops.
  for (var t = 0u; t < nt; t++) {
    red[t * WG + lid] = acc[t];
  }
  workgroupBarrier();
  for (var s = SPLIT / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var t = 0u; t < nt; t++) {
        red[t * WG + lid] += red[t * WG + lid + s];
      }
    }
    workgroupBarrier();
  }
  if (live && lane == 0u) {
    for (var t = 0u; t < nt; t++) {
      OUT[(t0 + t) * P.b.x + P.a.w + r] = red[t * WG + lid];
    }
  }
