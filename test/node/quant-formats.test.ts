// Block layouts: blocks built by an encoder written here from the format descriptions decode to the intended values,
// at any offsets, reading exactly the bytes GGML_TYPES says; plus the dispatcher's errors.
import { describe, expect, it } from "vitest";
import { GGML_TYPES, GgmlType, QK_K } from "../../src/gguf/ggml-types";
import { seededRandom as rng } from "../helpers/random";
import { dequantizableTypes, dequantize, dequantizeRow, f16ToF32, isDequantizable } from "../../src/quant/index";

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
/** A random normal-range f16 pattern with a magnitude in about [2^-12, 2^-4]. */
const f16Bits = (r: () => number, signed = false) => ((signed && r() < 0.5 ? 0x8000 : 0) | (int(r, 3, 11) << 10) | int(r, 0, 1023));

interface Block {
  bytes: Uint8Array;
  values: number[];
}

/** One encoder per type: random logical contents (scales, quants) -> packed bytes and the values they stand for. */
const ENCODERS: Record<string, (r: () => number) => Block> = {
  Q8_0(r) {
    const b = new Uint8Array(34);
    const dv = new DataView(b.buffer);
    const dh = f16Bits(r, true);
    dv.setUint16(0, dh, true);
    const values: number[] = [];
    for (let j = 0; j < 32; j++) {
      const q = int(r, -128, 127);
      dv.setInt8(2 + j, q);
      values.push(f16ToF32(dh) * q);
    }
    return { bytes: b, values };
  },
  Q4_0: (r) => legacy(r, 18, false, false),
  Q4_1: (r) => legacy(r, 20, true, false),
  Q5_0: (r) => legacy(r, 22, false, true),
  Q5_1: (r) => legacy(r, 24, true, true),
  Q4_K: (r) => kq45(r, false),
  Q5_K: (r) => kq45(r, true),
  Q6_K(r) {
    const b = new Uint8Array(210);
    const dv = new DataView(b.buffer);
    const dh = f16Bits(r);
    dv.setUint16(208, dh, true);
    const sc = Array.from({ length: 16 }, () => int(r, -128, 127));
    sc.forEach((s, i) => dv.setInt8(192 + i, s));
    const values: number[] = [];
    for (let e = 0; e < QK_K; e++) {
      const q = int(r, 0, 63);
      const n = e >> 7;
      const g = (e & 127) >> 5;
      const l = e & 31;
      const qlIdx = 64 * n + (g & 1) * 32 + l;
      b[qlIdx]! |= (q & 0xf) << (g >= 2 ? 4 : 0);
      b[128 + 32 * n + l]! |= (q >> 4) << (2 * g);
      values.push(Math.fround(f16ToF32(dh) * sc[e >> 4]! * (q - 32)));
    }
    return { bytes: b, values };
  },
  Q2_K(r) {
    const b = new Uint8Array(84);
    const dv = new DataView(b.buffer);
    const dh = f16Bits(r);
    const mh = f16Bits(r);
    dv.setUint16(80, dh, true);
    dv.setUint16(82, mh, true);
    for (let i = 0; i < 16; i++) b[i] = int(r, 0, 255);
    const values: number[] = [];
    for (let e = 0; e < QK_K; e++) {
      const q = int(r, 0, 3);
      const n = e >> 7;
      const j = (e & 127) >> 5;
      b[16 + 32 * n + (e & 31)]! |= q << (2 * j);
      const s = b[e >> 4]!;
      values.push(Math.fround(f16ToF32(dh) * (s & 0xf) * q - f16ToF32(mh) * (s >> 4)));
    }
    return { bytes: b, values };
  },
  Q3_K(r) {
    const b = new Uint8Array(110);
    const dv = new DataView(b.buffer);
    const dh = f16Bits(r);
    dv.setUint16(108, dh, true);
    const sc = Array.from({ length: 16 }, () => int(r, 0, 63));
    sc.forEach((s, j) => {
      if (j < 8) b[96 + j]! |= s & 0xf;
      else b[96 + j - 8]! |= (s & 0xf) << 4;
      b[96 + 8 + (j & 3)]! |= (s >> 4) << (2 * (j >> 2));
    });
    const values: number[] = [];
    for (let e = 0; e < QK_K; e++) {
      const q = int(r, 0, 7); // stored value q − 4: low 2 bits in qs, bit 2 in hmask
      const n = e >> 7;
      const j = (e & 127) >> 5;
      const l = e & 31;
      b[32 + 32 * n + l]! |= (q & 3) << (2 * j);
      b[l]! |= (q >> 2) << (4 * n + j);
      values.push(Math.fround(f16ToF32(dh) * (sc[e >> 4]! - 32) * (q - 4)));
    }
    return { bytes: b, values };
  },
};

/** Q4_0/Q4_1/Q5_0/Q5_1: d [, m] [, qh u32], qs[16] with element j low nibble, j+16 high nibble. */
function legacy(r: () => number, size: number, hasMin: boolean, five: boolean): Block {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  const dh = f16Bits(r, !hasMin);
  const mh = f16Bits(r, true);
  dv.setUint16(0, dh, true);
  let p = 2;
  if (hasMin) dv.setUint16((p += 2) - 2, mh, true);
  const qhAt = p;
  if (five) p += 4;
  let qh = 0;
  const values: number[] = [];
  for (let e = 0; e < 32; e++) {
    const q = int(r, 0, five ? 31 : 15);
    b[p + (e & 15)]! |= (q & 0xf) << (e < 16 ? 0 : 4);
    if (q >> 4) qh |= 1 << e;
    const d = f16ToF32(dh);
    const v = hasMin ? Math.fround(d * q) + f16ToF32(mh) : d * (q - (five ? 16 : 8));
    values.push(Math.fround(v));
  }
  if (five) dv.setUint32(qhAt, qh >>> 0, true);
  return { bytes: b, values };
}

/** Q4_K/Q5_K: d, dmin, 12 bytes of packed 6-bit scales/mins, [qh[32]], qs[128]. */
function kq45(r: () => number, five: boolean): Block {
  const b = new Uint8Array(five ? 176 : 144);
  const dv = new DataView(b.buffer);
  const dh = f16Bits(r);
  const mh = f16Bits(r);
  dv.setUint16(0, dh, true);
  dv.setUint16(2, mh, true);
  const sc = Array.from({ length: 8 }, () => int(r, 0, 63));
  const mn = Array.from({ length: 8 }, () => int(r, 0, 63));
  for (let j = 0; j < 4; j++) {
    b[4 + j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    b[4 + j + 4] = mn[j]! | ((mn[j + 4]! >> 4) << 6);
    b[4 + j + 8] = (sc[j + 4]! & 0xf) | ((mn[j + 4]! & 0xf) << 4);
  }
  const qs = five ? 48 : 16;
  const values: number[] = [];
  for (let e = 0; e < QK_K; e++) {
    const q = int(r, 0, five ? 31 : 15);
    const c = e >> 6;
    const hiNibble = (e & 63) >= 32;
    const l = e & 31;
    b[qs + 32 * c + l]! |= (q & 0xf) << (hiNibble ? 4 : 0);
    if (five && q >> 4) b[16 + l]! |= 1 << (2 * c + (hiNibble ? 1 : 0));
    const s = e >> 5;
    values.push(Math.fround(f16ToF32(dh) * sc[s]! * q - f16ToF32(mh) * mn[s]!));
  }
  return { bytes: b, values };
}

const typeId = (name: string) => GgmlType[name as keyof typeof GgmlType];

describe("block geometry", () => {
  it("every encoder here builds blocks of exactly GGML_TYPES' typeSize and blockSize", () => {
    for (const [name, enc] of Object.entries(ENCODERS)) {
      const info = GGML_TYPES.get(typeId(name))!;
      const blk = enc(rng(1));
      expect([name, blk.bytes.length, blk.values.length]).toEqual([name, info.typeSize, info.blockSize]);
    }
  });

  it("supports the required types (and Q2_K, Q3_K, Q8_1) and nothing it cannot decode", () => {
    for (const t of ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "Q2_K", "Q3_K", "Q8_1"]) {
      expect([t, isDequantizable(typeId(t))]).toEqual([t, true]);
    }
    for (const t of ["IQ2_XXS", "IQ4_NL", "Q8_K", "I32", "TQ1_0", "MXFP4"]) expect([t, isDequantizable(typeId(t))]).toEqual([t, false]);
    expect(dequantizableTypes()).toHaveLength(14);
  });

  it("Q8_1 (d, s, 32 int8) decodes d·q and ignores s", () => {
    const b = new Uint8Array(36);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, 0x3800, true); // 0.5
    dv.setUint16(2, 0x7bff, true);
    for (let j = 0; j < 32; j++) dv.setInt8(4 + j, j - 16);
    expect(Array.from(dequantize(GgmlType.Q8_1, b, 32))).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) / 2));
  });
});

describe.each(Object.keys(ENCODERS))("%s blocks", (name) => {
  const type = typeId(name);
  const info = GGML_TYPES.get(type)!;

  it("decode to the encoded values (20 random blocks in one call)", () => {
    const r = rng(0x5eed + type);
    const blocks = Array.from({ length: 20 }, () => ENCODERS[name]!(r));
    const src = new Uint8Array(blocks.length * info.typeSize);
    blocks.forEach((b, i) => src.set(b.bytes, i * info.typeSize));
    const got = dequantize(type, src, blocks.length * info.blockSize);
    const want = blocks.flatMap((b) => b.values);
    let bad = 0;
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(got[i] === 0 && want[i] === 0)) bad++;
    expect(bad).toBe(0);
  });

  it("reads only its own bytes and writes only its own outputs, at odd offsets", () => {
    const r = rng(77 + type);
    const blocks = [ENCODERS[name]!(r), ENCODERS[name]!(r)];
    const srcOffset = 13;
    const src = new Uint8Array(srcOffset + 2 * info.typeSize + 11);
    for (let i = 0; i < src.length; i++) src[i] = int(r, 0, 255); // junk around the blocks
    blocks.forEach((b, i) => src.set(b.bytes, srcOffset + i * info.typeSize));
    const dst = new Float32Array(3 + 2 * info.blockSize + 5).fill(-7);
    dequantizeRow(type, src, srcOffset, dst, 3, 2 * info.blockSize);
    expect(Array.from(dst.subarray(0, 3))).toEqual([-7, -7, -7]);
    expect(Array.from(dst.subarray(3 + 2 * info.blockSize))).toEqual([-7, -7, -7, -7, -7]);
    const want = blocks.flatMap((b) => b.values);
    const got = Array.from(dst.subarray(3, 3 + 2 * info.blockSize));
    expect(got.every((v, i) => v === want[i])).toBe(true);
    // The second block alone, from the middle of the buffer.
    const one = new Float32Array(info.blockSize);
    dequantizeRow(type, src, srcOffset + info.typeSize, one, 0, info.blockSize);
    expect(Array.from(one).every((v, i) => v === blocks[1]!.values[i])).toBe(true);
  });

  it("needs exactly typeSize bytes per block", () => {
    const src = new Uint8Array(2 * info.typeSize);
    expect(() => dequantizeRow(type, src, 0, new Float32Array(2 * info.blockSize), 0, 2 * info.blockSize)).not.toThrow();
    expect(() => dequantizeRow(type, src, 1, new Float32Array(2 * info.blockSize), 0, 2 * info.blockSize)).toThrow(/outside a buffer/);
    expect(() => dequantize(type, src, info.blockSize + 1)).toThrow(/not a multiple of the block size/);
  });
});

describe("scalar types", () => {
  it("F32 copies from unaligned offsets; F16 and BF16 decode their patterns", () => {
    const vals = new Float32Array([1.5, -2, 3.25e-8, Infinity]);
    const src = new Uint8Array(3 + 16);
    src.set(new Uint8Array(vals.buffer), 3);
    const dst = new Float32Array(6);
    dequantizeRow(GgmlType.F32, src, 3, dst, 1, 4);
    expect(Array.from(dst)).toEqual([0, 1.5, -2, Math.fround(3.25e-8), Infinity, 0]);
    const h = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]); // junk, then 1.0, -2.0, 2^-24 as f16
    expect(Array.from(dequantize(GgmlType.F16, h.subarray(1), 3))).toEqual([1, -2, 2 ** -24]);
    const bf = new Uint8Array([0x80, 0x3f, 0x49, 0x40, 0x80, 0xff]); // 1.0, 3.140625, -Inf
    expect(Array.from(dequantize(GgmlType.BF16, bf, 3))).toEqual([1, 3.140625, -Infinity]);
  });
});

describe("errors", () => {
  it("an unsupported type is named", () => {
    expect(() => dequantize(GgmlType.IQ2_XXS, new Uint8Array(66), 256)).toThrow("cannot dequantize IQ2_XXS: unsupported type");
    expect(() => dequantizeRow(99, new Uint8Array(4), 0, new Float32Array(1), 0, 1)).toThrow("cannot dequantize type 99: unsupported type");
  });

  it("a destination too small is refused before anything is written", () => {
    const dst = new Float32Array(40).fill(1);
    expect(() => dequantizeRow(GgmlType.Q8_0, new Uint8Array(68), 0, dst, 10, 64)).toThrow(/destination \[10, 74\) outside an array of 40/);
    expect(dst.every((v) => v === 1)).toBe(true);
  });
});
