// Token -> bytes as llama.cpp's token_to_piece does for SPM vocabularies, and whole-sequence detokenization.
import { spmSpecials } from "./special-tokens";
import { SPACE_SYMBOL } from "./spm";
import { decodeUtf8, encodeUtf8 } from "./utf8";
import type { TokenTexts } from "./token-texts";
import { TokenType, TokenizerError, type Vocab } from "./vocab";

const EMPTY = new Uint8Array(0);

/** Token id -> bytes, for one vocabulary (SentencePiece or byte-level BPE). */
export interface PieceSource {
  /** Throws TokenizerError unless id is a token id of this vocabulary. */
  check(id: number): void;
  /** The bytes of a token; `special` shows control and unknown tokens as their text. Do not modify. */
  bytes(id: number, special: boolean): Uint8Array;
}
const SPACE = 0x20;

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
  protected compute(id: number, special: boolean): Uint8Array {
    const piece = () => this.vocab.tokens.text(id);
    // Types after llama.cpp's load-time fixes: an end-of-generation text typed USER_DEFINED renders as CONTROL.
    switch (spmSpecials(this.vocab).types[id]) {
      case TokenType.NORMAL: {
        const { units, n } = this.unitsOf(id);
        return utf8OfUnits(units, n, SPACE_SYMBOL.charCodeAt(0));
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
  let size = 0;
  for (let k = 0; k < n; k++) {
    const c = units[k]!;
    if (c < 0x80 || c === space) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < n && units[k + 1]! >= 0xdc00 && units[k + 1]! <= 0xdfff) (size += 4), k++;
    else size += 3;
  }
  const out = new Uint8Array(size);
  let at = 0;
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
  return out;
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
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    let b = pieces.bytes(ids[i]!, options.special);
    if (i === 0 && options.stripLeadingSpace && b.length > 0 && b[0] === SPACE) b = b.subarray(1);
    parts.push(b);
    total += b.length;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return decodeUtf8(all);
}
