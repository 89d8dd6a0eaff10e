// GGUF block decoding over weights kept as the file's bytes in u32 words (little-endian); the includer declares W.
// Q8_0 blocks are 34 bytes and Q4_0 blocks 18, so blocks start at even but not always 4-aligned byte offsets.

const TYPE_F32: u32 = 0u;
const TYPE_F16: u32 = 1u;
const TYPE_Q4_0: u32 = 2u;
const TYPE_Q8_0: u32 = 8u;

fn byte_at(off: u32) -> u32 {
  return (W[off >> 2u] >> ((off & 3u) * 8u)) & 0xffu;
}

// Four bytes from an even byte offset.
fn word_at(off: u32) -> u32 {
  let i = off >> 2u;
  if ((off & 3u) == 0u) {
    return W[i];
  }
  return (W[i] >> 16u) | (W[i + 1u] << 16u);
}

// The f16 at an even byte offset (core WGSL: no shader-f16 needed).
fn half_at(off: u32) -> f32 {
  let h = unpack2x16float(W[off >> 2u]);
  return select(h.x, h.y, (off & 2u) != 0u);
}

fn block_bytes(wtype: u32) -> u32 {
  return select(34u, 18u, wtype == TYPE_Q4_0);
}

// Bytes of one row of `cols` elements.
fn row_bytes(wtype: u32, cols: u32) -> u32 {
  switch wtype {
    case TYPE_F32: { return cols * 4u; }
    case TYPE_F16: { return cols * 2u; }
    default: { return (cols / 32u) * block_bytes(wtype); }
  }
}

// Element c of the row starting at byte `row`, dequantized.
fn weight_at(wtype: u32, row: u32, c: u32) -> f32 {
  switch wtype {
    case TYPE_F32: { return bitcast<f32>(W[(row >> 2u) + c]); }
    case TYPE_F16: { return half_at(row + 2u * c); }
    case TYPE_Q8_0: {
      let o = row + (c / 32u) * 34u;
      let q = bitcast<i32>(byte_at(o + 2u + (c % 32u)) << 24u) >> 24u;
      return half_at(o) * f32(q);
    }
    default: {
      let o = row + (c / 32u) * 18u;
      let e = c % 32u;
      let b = byte_at(o + 2u + (e % 16u));
      let nib = select(b & 15u, b >> 4u, e >= 16u);
      return half_at(o) * (f32(nib) - 8.0);
    }
  }
}

// f32 rounded to the nearest f16 and back (ggml feeds F16 weights f16 activations).
fn round_f16(x: f32) -> f32 {
  return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x;
}
