// Bounds-checked little-endian cursor over a byte array: every read past the end becomes a GgufError, never a RangeError.
import { GgufError, GgufHeaderTooLarge } from "./errors";

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  /**
   * `bytes` is the whole file, or a prefix of a file of `fileSize` bytes: reads are checked against the file first (a
   * truncated file), then against the bytes in hand (GgufHeaderTooLarge: the caller reads a longer prefix).
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly fileSize: number = bytes.byteLength,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left in the file (not only in the prefix held). */
  get remaining(): number {
    return this.fileSize - this.offset;
  }

  /** Throws unless n more bytes are available; `what` names the field for the message. */
  need(n: number, what: string): void {
    if (n > this.remaining) throw new GgufError(`truncated file: ${what} needs ${n} bytes but only ${this.remaining} remain`, this.offset);
    if (n > this.bytes.byteLength - this.offset) throw new GgufHeaderTooLarge(this.bytes.byteLength, what, this.offset);
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
}
