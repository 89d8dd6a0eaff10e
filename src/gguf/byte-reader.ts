// Bounds-checked little-endian cursor over a byte array: every read past the end becomes a GgufError, never a RangeError.
import { GgufError } from "./errors";

// ignoreBOM: a token that is exactly U+FEFF must survive (the default decoder strips a leading BOM).
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  /** Throws unless n more bytes are available; `what` names the field for the message. */
  need(n: number, what: string): void {
    if (n > this.remaining) throw new GgufError(`truncated file: ${what} needs ${n} bytes but only ${this.remaining} remain`, this.offset);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }
  i8(what: string): number {
    this.need(1, what);
    return this.view.getInt8(this.offset++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }
  i16(what: string): number {
    this.need(2, what);
    const v = this.view.getInt16(this.offset, true);
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }
  f32(what: string): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.offset, true);
    this.offset += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** A u64 that must be a count or size no larger than `max` (else GgufError naming `what`). */
  count(what: string, max: number): number {
    const at = this.offset;
    const v = this.u64(what);
    if (v > BigInt(max)) throw new GgufError(`absurd ${what}: ${v} (limit ${max})`, at);
    return Number(v);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes (invalid sequences decode to U+FFFD). */
  string(what: string, maxLength: number): string {
    const at = this.offset;
    const len = this.u64(`${what} length`);
    if (len > BigInt(this.remaining)) throw new GgufError(`${what}: string length ${len} runs past the end of the file`, at);
    if (len > BigInt(maxLength)) throw new GgufError(`${what}: string length ${len} exceeds the limit of ${maxLength}`, at);
    const n = Number(len);
    const s = utf8.decode(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return s;
  }
}
