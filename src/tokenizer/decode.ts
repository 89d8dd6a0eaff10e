// Token -> bytes as llama.cpp's token_to_piece does for SPM vocabularies, and whole-sequence detokenization.
import { spmSpecials } from "./special-tokens";
import { SPACE_SYMBOL } from "./spm";
import { decodeUtf8, encodeUtf8 } from "./utf8";
import type { TokenTexts } from "./token-texts";
import { TokenType, TokenizerError, type Vocab } from "./vocab";

const EMPTY = new Uint8Array(0);
const SPACE_CODE = SPACE_SYMBOL.charCodeAt(0);

/** Token id -> bytes, for one vocabulary (SentencePiece or byte-level BPE). */
export interface PieceSource {
  /** Throws TokenizerError unless id is a token id of this vocabulary. */
  check(id: number): void;
  /** The bytes of a token; `special` shows control and unknown tokens as their text. Do not modify. */
  bytes(id: number, special: boolean): Uint8Array;
  /** Appends bytes(id, special) to `sink` (without making them an array of their own where it can). */
  appendBytes(id: number, special: boolean, sink: ByteSink): void;
}
const SPACE = 0x20;

/** A growing byte buffer: bytes[0 .. length). */
export class ByteSink {
  bytes = new Uint8Array(1024);
  length = 0;

  /** Makes room for n more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  append(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
}

/**
 * A PieceSource over a vocabulary: `compute` makes a token's bytes from its packed text on each call. Nothing is
 * cached: per-token caches cost the JS heap several MB over a session, while making a piece's bytes is cheap.
 */
export abstract class VocabPieces<V extends { readonly tokens: TokenTexts }> implements PieceSource {
  private buffer = new Uint16Array(256);

  constructor(readonly vocab: V) {}

  /** The code units of token `id`'s text, in a buffer reused by the next call: units[0 .. n). */
  protected unitsOf(id: number): { units: Uint16Array; n: number } {
    let n = this.vocab.tokens.copyUnits(id, this.buffer);
    if (n < 0) {
      this.buffer = new Uint16Array(-n);
      n = this.vocab.tokens.copyUnits(id, this.buffer);
    }
    return { units: this.buffer, n };
  }

  /** Throws TokenizerError unless id is a token id of this vocabulary. */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new TokenizerError(`token id ${id} is out of range (vocabulary has ${this.vocab.tokens.length} tokens)`);
    }
  }

  /** The bytes of a token; `special` shows control and unknown tokens as their text. */
  bytes(id: number, special: boolean): Uint8Array {
    this.check(id);
    return this.compute(id, special);
  }

  appendBytes(id: number, special: boolean, sink: ByteSink): void {
    this.check(id);
    if (!this.appendDirect(id, sink)) sink.append(this.compute(id, special));
  }

  /** Writes the bytes of a normal token (a valid id) straight into `sink`; false (nothing written) for other tokens. */
  protected abstract appendDirect(id: number, sink: ByteSink): boolean;

  /** The bytes of token `id` (a valid id). */
  protected abstract compute(id: number, special: boolean): Uint8Array;
}

/**
 * Bytes of each token's piece:
 * - normal: the piece with U+2581 turned into spaces;
 * - byte (`<0xXX>`): that single byte;
 * - user-defined: the piece text as is;
 * - control and unknown (`<s>`, `</s>`, `<unk>`): nothing, or the piece text as is when special text is asked for;
 * - unused and undefined types: nothing.
 */
export class PieceTable extends VocabPieces<Vocab> {
  /** Token types after llama.cpp's load-time fixes (spmSpecials), looked up once. */
  private fixedTypes: Uint8Array | undefined;

  protected appendDirect(id: number, sink: ByteSink): boolean {
    this.fixedTypes ??= spmSpecials(this.vocab).types;
    if (this.fixedTypes[id] !== TokenType.NORMAL) return false;
    const { units, n } = this.unitsOf(id);
    sink.reserve(3 * n); // UTF-8 takes at most 3 bytes per UTF-16 unit
    sink.length = writeUtf8(units, n, SPACE_CODE, sink.bytes, sink.length);
    return true;
  }

  protected compute(id: number, special: boolean): Uint8Array {
    const piece = () => this.vocab.tokens.text(id);
    // Types after llama.cpp's load-time fixes: an end-of-generation text typed USER_DEFINED renders as CONTROL.
    switch (spmSpecials(this.vocab).types[id]) {
      case TokenType.NORMAL: {
        const { units, n } = this.unitsOf(id);
        return utf8OfUnits(units, n, SPACE_CODE);
      }
      case TokenType.BYTE:
        return Uint8Array.of(byteOfPiece(piece()));
      case TokenType.USER_DEFINED:
        return encodeUtf8(piece());
      case TokenType.CONTROL:
      case TokenType.UNKNOWN:
        return special ? encodeUtf8(piece()) : EMPTY;
      default:
        return EMPTY;
    }
  }
}

/**
 * UTF-8 of code units[0 .. n) with `space` turned into " " (encodeUtf8(text.replaceAll(space, " ")) without the
 * strings): lone surrogates become U+FFFD, as TextEncoder does.
 */
export function utf8OfUnits(units: Uint16Array, n: number, space: number): Uint8Array {
  const out = new Uint8Array(utf8Size(units, n, space));
  writeUtf8(units, n, space, out, 0);
  return out;
}

function utf8Size(units: Uint16Array, n: number, space: number): number {
  let size = 0;
  for (let k = 0; k < n; k++) {
    const c = units[k]!;
    if (c < 0x80 || c === space) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < n && units[k + 1]! >= 0xdc00 && units[k + 1]! <= 0xdfff) (size += 4), k++;
    else size += 3;
  }
  return size;
}

/** Writes the UTF-8 of utf8OfUnits into out from `at`; returns the end. */
function writeUtf8(units: Uint16Array, n: number, space: number, out: Uint8Array, at: number): number {
  for (let k = 0; k < n; k++) {
    let c = units[k]!;
    if (c === space) out[at++] = 0x20;
    else if (c < 0x80) out[at++] = c;
    else if (c < 0x800) (out[at++] = 0xc0 | (c >> 6)), (out[at++] = 0x80 | (c & 0x3f));
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < n && units[k + 1]! >= 0xdc00 && units[k + 1]! <= 0xdfff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (units[++k]! - 0xdc00);
      out[at++] = 0xf0 | (cp >> 18);
      out[at++] = 0x80 | ((cp >> 12) & 0x3f);
      out[at++] = 0x80 | ((cp >> 6) & 0x3f);
      out[at++] = 0x80 | (cp & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

/** The byte of a `<0xXX>` piece (hex digits after "<0x", as llama.cpp reads them; 0 if none). */
export function byteOfPiece(piece: string): number {
  const v = parseInt(piece.slice(3), 16);
  return Number.isNaN(v) ? 0 : v & 0xff;
}

export interface DetokenizeOptions {
  /** Show control/unknown tokens as their piece text (llama.cpp's unparse_special). */
  readonly special: boolean;
  /** Drop one leading space from the first token's bytes (llama.cpp strips the add_space_prefix space). */
  readonly stripLeadingSpace: boolean;
}

/**
 * Concatenates the tokens' bytes and decodes them as UTF-8 (broken sequences become U+FFFD).
 * With stripLeadingSpace, the first token loses one leading space, even if it is an empty control token
 * (so after a BOS nothing is stripped) — llama_detokenize's rule.
 */
export function detokenize(pieces: PieceSource, ids: readonly number[], options: DetokenizeOptions): string {
  const sink = new ByteSink();
  for (let i = 0; i < ids.length; i++) {
    pieces.appendBytes(ids[i]!, options.special, sink);
    if (i === 0 && options.stripLeadingSpace && sink.length > 0 && sink.bytes[0] === SPACE) {
      sink.bytes.copyWithin(0, 1, sink.length);
      sink.length--;
    }
  }
  return decodeUtf8(sink.bytes.subarray(0, sink.length));
}
