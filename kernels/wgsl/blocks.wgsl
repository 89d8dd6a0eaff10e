// GGUF block decoding over weights kept as the file's bytes in u32 words (little-endian); the includer declares W.
// Every block size is even (Q8_0 34, Q4_0 18, Q5_0 22, Q3_K 110, Q6_K 210, ...), so blocks start at even but not
// always 4-aligned byte offsets: word_at and half_at take any even offset, and no repacking is needed at upload.
//#include blocks_decode.wgsl

const TYPE_F32: u32 = 0u;
const TYPE_F16: u32 = 1u;
const TYPE_Q4_0: u32 = 2u;
const TYPE_Q4_1: u32 = 3u;
const TYPE_Q5_0: u32 = 6u;
const TYPE_Q5_1: u32 = 7u;
const TYPE_Q8_0: u32 = 8u;
const TYPE_Q2_K: u32 = 10u;
const TYPE_Q3_K: u32 = 11u;
const TYPE_Q4_K: u32 = 12u;
const TYPE_Q5_K: u32 = 13u;
const TYPE_Q6_K: u32 = 14u;
const TYPE_BF16: u32 = 30u;

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

// The 16 bits at an even byte offset.
fn u16_at(off: u32) -> u32 {
  return (W[off >> 2u] >> ((off & 2u) * 8u)) & 0xffffu;
}

// The f16 at an even byte offset (core WGSL: no shader-f16 needed).
fn half_at(off: u32) -> f32 {
  let h = unpack2x16float(W[off >> 2u]);
  return select(h.x, h.y, (off & 2u) != 0u);
}

// Bytes of one block (F32/F16/BF16: one element).
fn block_bytes(wtype: u32) -> u32 {
  switch wtype {
    case TYPE_F32: { return 4u; }
    case TYPE_F16, TYPE_BF16: { return 2u; }
    case TYPE_Q4_0: { return 18u; }
    case TYPE_Q4_1: { return 20u; }
    case TYPE_Q5_0: { return 22u; }
    case TYPE_Q5_1: { return 24u; }
    case TYPE_Q2_K: { return 84u; }
    case TYPE_Q3_K: { return 110u; }
    case TYPE_Q4_K: { return 144u; }
    case TYPE_Q5_K: { return 176u; }
    case TYPE_Q6_K: { return 210u; }
    default: { return 34u; } // Q8_0
  }
}

// Elements of one block.
fn block_elems(wtype: u32) -> u32 {
  switch wtype {
    case TYPE_F32, TYPE_F16, TYPE_BF16: { return 1u; }
    case TYPE_Q2_K, TYPE_Q3_K, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K: { return 256u; }
    default: { return 32u; }
  }
}

// Bytes of one row of `cols` elements.
fn row_bytes(wtype: u32, cols: u32) -> u32 {
  return (cols / block_elems(wtype)) * block_bytes(wtype);
}

// Element c of the row starting at byte `row`, dequantized as ggml's dequantize_row_* does (a·q + b in f32).
fn weight_at(wtype: u32, row: u32, c: u32) -> f32 {
  switch wtype {
    case TYPE_F32: { return bitcast<f32>(W[(row >> 2u) + c]); }
    case TYPE_F16: { return half_at(row + 2u * c); }
    case TYPE_BF16: { return bitcast<f32>(u16_at(row + 2u * c) << 16u); }
    default: {
      let g = decode_group(wtype, row, c / 32u);
      let e = c % 32u;
      let q = f32(bitcast<i32>(((g.q[e / 4u] >> ((e % 4u) * 8u)) & 0xffu) << 24u) >> 24u);
      let h = e / 16u;
      return g.a[h] * q + g.b[h];
    }
  }
}

// f32 rounded to the nearest f16 and back (ggml feeds F16 weights f16 activations).
fn round_f16(x: f32) -> f32 {
  return f16_rne(x);
}

// f32 rounded to the nearest bf16, ties to even (ggml's GGML_FP32_TO_BF16 for BF16 weights' activations); NaN kept.
fn round_bf16(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return x;
  }
  return bitcast<f32>(((u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u) << 16u);
}
