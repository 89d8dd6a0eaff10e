// Q4_1, Q5_0 and Q5_1 encoders equal to ggml's reference ones (the K-quants' fallbacks for rows of 32-multiples).
import { f32ToF16 } from "./f16";

const f = Math.fround;

function checkBlocks(name: string, n: number): void {
  if (n % 32 !== 0) throw new Error(`cannot quantize ${n} values to ${name}: not a multiple of the block size 32`);
}

function putF16(out: Uint8Array, p: number, v: number): void {
  const h = f32ToF16(v);
  out[p] = h & 0xff;
  out[p + 1] = h >>> 8;
}

/** C's float → int8_t conversion (truncation toward zero, then the low byte, signed). */
const toInt8 = (v: number) => (Math.trunc(v) << 24) >> 24;

function minMax(x: Float32Array, o: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < 32; j++) {
    const v = x[o + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** The 5th bits of 32 levels, as ggml packs them into qh (bit j for element j of the block). */
function putQh(out: Uint8Array, p: number, levels: Uint8Array): void {
  let qh = 0;
  for (let j = 0; j < 32; j++) qh |= ((levels[j]! & 0x10) >> 4) << j;
  out[p] = qh & 0xff;
  out[p + 1] = (qh >>> 8) & 0xff;
  out[p + 2] = (qh >>> 16) & 0xff;
  out[p + 3] = qh >>> 24;
}

/** Nibbles of 32 levels: element j low, element j + 16 high. */
function putNibbles(out: Uint8Array, p: number, levels: Uint8Array): void {
  for (let j = 0; j < 16; j++) out[p + j] = (levels[j]! & 0x0f) | ((levels[j + 16]! & 0x0f) << 4);
}

/** Q4_1 (20 bytes per 32): d, m, qs[16]; x ≈ d·q + m. */
export function quantizeQ4_1(src: Float32Array): Uint8Array {
  checkBlocks("Q4_1", src.length);
  const out = new Uint8Array((src.length / 32) * 20);
  const q = new Uint8Array(32);
  for (let i = 0, p = 0; i < src.length; i += 32, p += 20) {
    const [min, max] = minMax(src, i);
    const d = f(f(max - min) / 15);
    const id = d ? f(1 / d) : 0;
    putF16(out, p, d);
    putF16(out, p + 2, min);
    for (let j = 0; j < 32; j++) q[j] = Math.min(15, toInt8(f(f(f(src[i + j]! - min) * id) + 0.5))) & 0xff;
    putNibbles(out, p + 4, q);
  }
  return out;
}

/** Q5_0 (22 bytes per 32): d, qh[4], qs[16]; x ≈ d·(q − 16), d = max/−16 for the value of largest magnitude. */
export function quantizeQ5_0(src: Float32Array): Uint8Array {
  checkBlocks("Q5_0", src.length);
  const out = new Uint8Array((src.length / 32) * 22);
  const q = new Uint8Array(32);
  for (let i = 0, p = 0; i < src.length; i += 32, p += 22) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[i + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    putF16(out, p, d);
    for (let j = 0; j < 32; j++) q[j] = Math.min(31, toInt8(f(f(src[i + j]! * id) + 16.5))) & 0xff;
    putQh(out, p + 2, q);
    putNibbles(out, p + 6, q);
  }
  return out;
}

/** Q5_1 (24 bytes per 32): d, m, qh[4], qs[16]; x ≈ d·q + m. */
export function quantizeQ5_1(src: Float32Array): Uint8Array {
  checkBlocks("Q5_1", src.length);
  const out = new Uint8Array((src.length / 32) * 24);
  const q = new Uint8Array(32);
  for (let i = 0, p = 0; i < src.length; i += 32, p += 24) {
    const [min, max] = minMax(src, i);
    const d = f(f(max - min) / 31);
    const id = d ? f(1 / d) : 0;
    putF16(out, p, d);
    putF16(out, p + 2, min);
    for (let j = 0; j < 32; j++) q[j] = Math.trunc(f(f(f(src[i + j]! - min) * id) + 0.5)) & 0xff;
    putQh(out, p + 4, q);
    putNibbles(out, p + 8, q);
  }
  return out;
}
