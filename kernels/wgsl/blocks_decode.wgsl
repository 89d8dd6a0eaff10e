// Decodes 32 consecutive weights of any quantized GGUF type (one "group": a legacy block, or an eighth of a K-quant
// super-block) into signed 8-bit integers plus per-16 scale a and offset b: weight = a·q + b, as ggml dequantizes.
// Offsets that are integers (Q4_0's −8, Q6_K's −32, Q3_K's −4) are folded into q, so integer dots stay exact.

struct Group {
  q: array<u32, 8>, // 32 signed bytes, element e in byte e % 4 of word e / 4
  a: vec2<f32>,     // scale of elements 0..15 and 16..31
  b: vec2<f32>,     // offset of elements 0..15 and 16..31 (Q4_1/Q5_1: m; K-quants: −dmin·m; else 0)
}

const LO4: u32 = 0x0f0f0f0fu;
const ONES: u32 = 0x01010101u;

// Four unsigned k-bit bytes minus 2^(k−1), as signed bytes: flip the top bit, then sign-extend it upwards.
fn centre(v: u32, k: u32) -> u32 {
  let x = v ^ (ONES << (k - 1u));
  let s = (x >> (k - 1u)) & ONES;
  return x | (s * ((0xffu << k) & 0xffu));
}

// Bits n..n+3 of `bits` spread to bit 0 of four bytes.
fn spread4(bits: u32, n: u32) -> u32 {
  let v = bits >> n;
  return (v & 1u) | ((v & 2u) << 7u) | ((v & 4u) << 14u) | ((v & 8u) << 21u);
}

// Q4_K/Q5_K's 6-bit scale (x) and min (y) of sub-block j from the 12-byte field at `p`.
fn scale_min_k4(p: u32, j: u32) -> vec2<u32> {
  if (j < 4u) {
    return vec2<u32>(byte_at(p + j) & 63u, byte_at(p + j + 4u) & 63u);
  }
  return vec2<u32>((byte_at(p + j + 4u) & 0xfu) | ((byte_at(p + j - 4u) >> 6u) << 4u), (byte_at(p + j + 4u) >> 4u) | ((byte_at(p + j) >> 6u) << 4u));
}

// Q3_K's scale j (of 16), offset by −32, from the 12-byte field at `p`.
fn scale_q3k(p: u32, j: u32) -> f32 {
  let low = select(byte_at(p + j - 8u) >> 4u, byte_at(p + j) & 0xfu, j < 8u);
  let high = (byte_at(p + 8u + (j & 3u)) >> (2u * (j >> 2u))) & 3u;
  return f32(i32(low | (high << 4u)) - 32);
}

// Group g (0-based, 32 elements each) of the row starting at byte `row`.
fn decode_group(wtype: u32, row: u32, g: u32) -> Group {
  var r: Group;
  r.b = vec2<f32>(0.0, 0.0);
  switch wtype {
    case TYPE_Q8_0: {
      let o = row + g * 34u;
      for (var k = 0u; k < 8u; k++) { r.q[k] = word_at(o + 2u + 4u * k); }
      r.a = vec2<f32>(half_at(o));
    }
    case TYPE_Q4_0, TYPE_Q4_1: {
      let legacy1 = wtype == TYPE_Q4_1;
      let o = row + g * select(18u, 20u, legacy1);
      let qs = o + select(2u, 4u, legacy1);
      for (var k = 0u; k < 4u; k++) {
        let w = word_at(qs + 4u * k);
        r.q[k] = w & LO4;
        r.q[k + 4u] = (w >> 4u) & LO4;
        if (!legacy1) {
          r.q[k] = centre(r.q[k], 4u);
          r.q[k + 4u] = centre(r.q[k + 4u], 4u);
        }
      }
      r.a = vec2<f32>(half_at(o));
      if (legacy1) { r.b = vec2<f32>(half_at(o + 2u)); }
    }
    case TYPE_Q5_0, TYPE_Q5_1: {
      let legacy1 = wtype == TYPE_Q5_1;
      let o = row + g * select(22u, 24u, legacy1);
      let qh = word_at(o + select(2u, 4u, legacy1));
      let qs = o + select(6u, 8u, legacy1);
      for (var k = 0u; k < 4u; k++) {
        let w = word_at(qs + 4u * k);
        r.q[k] = (w & LO4) | (spread4(qh, 4u * k) << 4u);
        r.q[k + 4u] = ((w >> 4u) & LO4) | (spread4(qh, 16u + 4u * k) << 4u);
        if (!legacy1) {
          r.q[k] = centre(r.q[k], 5u);
          r.q[k + 4u] = centre(r.q[k + 4u], 5u);
        }
      }
      r.a = vec2<f32>(half_at(o));
      if (legacy1) { r.b = vec2<f32>(half_at(o + 2u)); }
    }
    case TYPE_Q2_K: {
      // scales[16], qs[64], d, dmin; group g: 2-bit field g % 4 of qs bytes 32·(g / 4)..+31, scale bytes 2g, 2g + 1.
      let o = row + (g / 8u) * 84u;
      let j = g % 8u;
      let shift = 2u * (j % 4u);
      for (var k = 0u; k < 8u; k++) { r.q[k] = (word_at(o + 16u + 32u * (j / 4u) + 4u * k) >> shift) & 0x03030303u; }
      let d = half_at(o + 80u);
      let dmin = half_at(o + 82u);
      let s0 = byte_at(o + 2u * j);
      let s1 = byte_at(o + 2u * j + 1u);
      r.a = vec2<f32>(d * f32(s0 & 15u), d * f32(s1 & 15u));
      r.b = -vec2<f32>(dmin * f32(s0 >> 4u), dmin * f32(s1 >> 4u));
    }
    case TYPE_Q3_K: {
      // hmask[32], qs[64], scales[12], d; q = 2-bit field | high bit from hmask, minus 4.
      let o = row + (g / 8u) * 110u;
      let j = g % 8u;
      let shift = 2u * (j % 4u);
      for (var k = 0u; k < 8u; k++) {
        let lo = (word_at(o + 32u + 32u * (j / 4u) + 4u * k) >> shift) & 0x03030303u;
        let hi = (word_at(o + 4u * k) >> j) & ONES;
        r.q[k] = centre(lo | (hi << 2u), 3u);
      }
      let d = half_at(o + 108u);
      r.a = vec2<f32>(d * scale_q3k(o + 96u, 2u * j), d * scale_q3k(o + 96u, 2u * j + 1u));
    }
    case TYPE_Q4_K, TYPE_Q5_K: {
      // d, dmin, scales[12], (Q5_K: qh[32]), qs[128]: sub-block j is the low (even j) or high nibbles of 32 bytes.
      let five = wtype == TYPE_Q5_K;
      let o = row + (g / 8u) * select(144u, 176u, five);
      let j = g % 8u;
      let qs = o + select(16u, 48u, five) + 32u * (j / 2u);
      for (var k = 0u; k < 8u; k++) {
        var v = (word_at(qs + 4u * k) >> (4u * (j % 2u))) & LO4;
        if (five) { v |= ((word_at(o + 16u + 4u * k) >> j) & ONES) << 4u; }
        r.q[k] = v;
      }
      let sm = scale_min_k4(o + 4u, j);
      r.a = vec2<f32>(half_at(o) * f32(sm.x));
      r.b = -vec2<f32>(half_at(o + 2u) * f32(sm.y));
    }
    default: { // Q6_K
      // ql[128], qh[64], scales[16] int8, d; group g: quarter j % 4 of the 128-element half j / 4.
      let o = row + (g / 8u) * 210u;
      let j = g % 8u;
      let n = j / 4u;
      let qt = j % 4u;
      for (var k = 0u; k < 8u; k++) {
        let lo = (word_at(o + 64u * n + 32u * (qt % 2u) + 4u * k) >> (4u * (qt / 2u))) & LO4;
        let hi = (word_at(o + 128u + 32u * n + 4u * k) >> (2u * qt)) & 0x03030303u;
        r.q[k] = centre(lo | (hi << 4u), 6u);
      }
      let d = half_at(o + 208u);
      let s0 = bitcast<i32>(byte_at(o + 192u + 2u * j) << 24u) >> 24u;
      let s1 = bitcast<i32>(byte_at(o + 193u + 2u * j) << 24u) >> 24u;
      r.a = vec2<f32>(d * f32(s0), d * f32(s1));
    }
  }
  return r;
}
