// Token strings of a GGUF vocabulary → the raw bytes each token stands for (GPT-2 byte-level BPE and SentencePiece).

/** GGUF tokenizer.ggml.token_type values. */
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;
const BYTE = 6;

let gpt2Decode: Map<number, number> | undefined;

/** GPT-2's bytes_to_unicode, inverted: the printable character standing for each byte → that byte. */
function gpt2Table(): Map<number, number> {
  if (gpt2Decode) return gpt2Decode;
  const table = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.set(printable ? b : 256 + extra++, b);
  }
  return (gpt2Decode = table);
}

/** The bytes of a GPT-2 byte-level piece ("Ġhello" → " hello"), or undefined when a character is outside the byte alphabet. */
export function gpt2PieceBytes(piece: string): Uint8Array | undefined {
  const table = gpt2Table();
  const out = new Uint8Array(piece.length);
  let n = 0;
  for (const ch of piece) {
    const b = table.get(ch.codePointAt(0)!);
    if (b === undefined) return undefined;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

const utf8 = new TextEncoder();

/**
 * Byte strings for a whole vocabulary, for TokenVocab. `model` is tokenizer.ggml.model ("gpt2" byte-level BPE, or
 * "llama" SentencePiece). Control, unknown and unused tokens get no bytes (never allowed by a grammar); user-defined
 * tokens stand for their literal text; SentencePiece maps "▁" to a space and <0xXX> byte tokens to that byte.
 */
export function vocabBytes(model: string, tokens: readonly string[], types?: readonly number[]): Uint8Array[] {
  return tokens.map((text, id) => {
    const type = types?.[id] ?? NORMAL;
    if (type === CONTROL || type === UNKNOWN || type === UNUSED) return new Uint8Array(0);
    if (type === USER_DEFINED) return utf8.encode(text);
    if (model === "gpt2") return gpt2PieceBytes(text) ?? utf8.encode(text);
    if (type === BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (m) return Uint8Array.of(parseInt(m[1]!, 16));
    }
    return utf8.encode(text.replace(/\u2581/g, " "));
  });
}
