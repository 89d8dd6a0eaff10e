// Incremental UTF-8 decoder with the WHATWG Encoding Standard's error handling (one U+FFFD per maximal bad subpart).
//
// Our own state machine rather than TextDecoder: the same code decodes whole sequences and streams, so a streamed
// decode always equals the one-shot decode; there is no BOM stripping; and it behaves the same in Node and workerd.

const REPLACEMENT = 0xfffd;

export class Utf8Decoder {
  private needed = 0;
  private seen = 0;
  private codePoint = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** True while the bytes so far end inside an incomplete (but still possibly valid) character. */
  get pending(): boolean {
    return this.needed !== 0;
  }

  /**
   * Decodes a chunk. With stream=true an incomplete trailing character is kept for the next call;
   * with stream=false (end of input) it becomes U+FFFD and the decoder is reset.
   */
  decode(bytes: ArrayLike<number>, stream: boolean): string {
    const units: number[] = [];
    const emit = (cp: number) => {
      if (cp < 0x10000) units.push(cp);
      else {
        const v = cp - 0x10000;
        units.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
      }
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]! & 0xff;
      if (this.needed === 0) {
        if (b <= 0x7f) units.push(b);
        else if (b >= 0xc2 && b <= 0xdf) this.start(1, b & 0x1f);
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.lower = 0xa0;
          else if (b === 0xed) this.upper = 0x9f;
          this.start(2, b & 0x0f);
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.lower = 0x90;
          else if (b === 0xf4) this.upper = 0x8f;
          this.start(3, b & 0x07);
        } else units.push(REPLACEMENT);
        continue;
      }
      if (b < this.lower || b > this.upper) {
        // The sequence is broken: one U+FFFD for what was seen, then this byte starts afresh.
        this.reset();
        units.push(REPLACEMENT);
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.codePoint = (this.codePoint << 6) | (b & 0x3f);
      if (++this.seen === this.needed) {
        emit(this.codePoint);
        this.reset();
      }
    }
    if (!stream && this.needed !== 0) {
      this.reset();
      units.push(REPLACEMENT);
    }
    return unitsToString(units);
  }

  private start(needed: number, bits: number): void {
    this.needed = needed;
    this.seen = 0;
    this.codePoint = bits;
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.codePoint = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}

/** Decodes a complete byte sequence (invalid parts become U+FFFD). */
export function decodeUtf8(bytes: ArrayLike<number>): string {
  return new Utf8Decoder().decode(bytes, false);
}

function unitsToString(units: number[]): string {
  if (units.length === 0) return "";
  const CHUNK = 8192;
  if (units.length <= CHUNK) return String.fromCharCode(...units);
  let out = "";
  for (let i = 0; i < units.length; i += CHUNK) out += String.fromCharCode(...units.slice(i, i + CHUNK));
  return out;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
