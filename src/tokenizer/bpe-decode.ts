// Token -> bytes for byte-level BPE vocabularies (llama.cpp's token_to_piece), and llama_detokenize's space clean-up.
import type { BpeVocab } from "./bpe-vocab";
import { byteOfPiece, VocabPieces, type ByteSink } from "./decode";
import { Attr } from "./special-tokens";
import { CHAR_TO_BYTE } from "./unicode";
import { encodeUtf8 } from "./utf8";

const EMPTY = new Uint8Array(0);

/**
 * Bytes of each token:
 * - control and unknown: nothing, or their text when special text is asked for;
 * - user-defined: their text as is (not byte-decoded);
 * - normal: each character turned back into the byte it stands for (GPT-2 unicode -> bytes); a character that
 *   stands for no byte gives llama.cpp's "[UNK_BYTE_0x..]" marker;
 * - byte (`<0xXX>`): that byte; unused and undefined: nothing.
 */
export class BpePieceTable extends VocabPieces<BpeVocab> {
  protected compute(id: number, special: boolean): Uint8Array {
    const attr = this.vocab.attrs[id]!;
    const text = () => this.vocab.tokens.text(id);
    if (attr & (Attr.CONTROL | Attr.UNKNOWN)) return special ? encodeUtf8(text()) : EMPTY;
    if (attr & Attr.USER_DEFINED) return encodeUtf8(text());
    if (attr & Attr.NORMAL) return this.byteLevel(id) ?? decodeByteLevel(text());
    if (attr & Attr.BYTE) return Uint8Array.of(byteOfPiece(text()));
    return EMPTY;
  }

  protected appendDirect(id: number, sink: ByteSink): boolean {
    const attr = this.vocab.attrs[id]!;
    if (attr & (Attr.CONTROL | Attr.UNKNOWN | Attr.USER_DEFINED) || !(attr & Attr.NORMAL)) return false;
    const { units, n } = this.unitsOf(id);
    sink.reserve(n);
    const out = sink.bytes;
    const at = sink.length;
    for (let k = 0; k < n; k++) {
      const c = units[k]!;
      const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
      if (b < 0) return false; // a character that stands for no byte: compute() writes llama.cpp's marker
      out[at + k] = b;
    }
    sink.length = at + n;
    return true;
  }

  /** decodeByteLevel of a token's text read from the packed texts; undefined if a character stands for no byte. */
  private byteLevel(id: number): Uint8Array | undefined {
    const { units, n } = this.unitsOf(id);
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const c = units[k]!;
      const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c]! : -1;
      if (b < 0) return undefined;
      out[k] = b;
    }
    return out;
  }
}

/** GPT-2 byte-level text -> the bytes it encodes (llama_decode_text). */
export function decodeByteLevel(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp]! : -1;
    if (b >= 0) {
      out.push(b);
      continue;
    }
    const hex = [...encodeUtf8(ch)].map((x) => x.toString(16).padStart(2, "0")).join("");
    for (const x of encodeUtf8(`[UNK_BYTE_0x${hex}${text}]`)) out.push(x);
  }
  return Uint8Array.from(out);
}

/**
 * llama_detokenize's clean_spaces passes, on the decoded text: drop the space before ? ! . , ; turn " ' " into "'";
 * drop the space before 's 'm 're 've (but not 't 'd 'll).
 */
export function cleanSpaces(text: string): string {
  return text
    .replace(/ (?=[?!.,])/g, "")
    .replace(/ ' /g, "'")
    .replace(/ '(?=[sm]|re|ve)/g, "'");
}
