// Token -> bytes as llama.cpp's token_to_piece does for SPM vocabularies, and whole-sequence detokenization.
import { spmSpecials } from "./special-tokens";
import { SPACE_SYMBOL } from "./spm";
import { decodeUtf8, encodeUtf8 } from "./utf8";
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

/** Caches each token's bytes (plain, and with special text) for a PieceSource; `compute` makes them on first use. */
export abstract class CachedPieces<V extends { readonly tokens: readonly string[] }> implements PieceSource {
  private readonly plain: (Uint8Array | undefined)[];
  private readonly special: (Uint8Array | undefined)[];

  constructor(readonly vocab: V) {
    this.plain = new Array<Uint8Array | undefined>(vocab.tokens.length);
    this.special = new Array<Uint8Array | undefined>(vocab.tokens.length);
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
    const cache = special ? this.special : this.plain;
    let b = cache[id];
    if (b === undefined) {
      b = this.compute(id, special);
      cache[id] = b;
    }
    return b;
  }

  /** The bytes of token `id` (a valid id), for the cache. */
  protected abstract compute(id: number, special: boolean): Uint8Array;
}

/**
 * Bytes of each token's piece, computed on first use:
 * - normal: the piece with U+2581 turned into spaces;
 * - byte (`<0xXX>`): that single byte;
 * - user-defined: the piece text as is;
 * - control and unknown (`<s>`, `</s>`, `<unk>`): nothing, or the piece text as is when special text is asked for;
 * - unused and undefined types: nothing.
 */
export class PieceTable extends CachedPieces<Vocab> {
  protected compute(id: number, special: boolean): Uint8Array {
    const piece = this.vocab.tokens[id]!;
    // Types after llama.cpp's load-time fixes: an end-of-generation text typed USER_DEFINED renders as CONTROL.
    switch (spmSpecials(this.vocab).types[id]) {
      case TokenType.NORMAL:
        return encodeUtf8(piece.replaceAll(SPACE_SYMBOL, " "));
      case TokenType.BYTE:
        return Uint8Array.of(byteOfPiece(piece));
      case TokenType.USER_DEFINED:
        return encodeUtf8(piece);
      case TokenType.CONTROL:
      case TokenType.UNKNOWN:
        return special ? encodeUtf8(piece) : EMPTY;
      default:
        return EMPTY;
    }
  }
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
