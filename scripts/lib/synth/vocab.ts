// Deterministic SentencePiece-style vocabulary for synthetic models: specials, 256 byte tokens, then unique pieces.

/** llama.cpp token types (tokenizer.ggml.token_type). */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Id of the byte token <0x00>; byte b is FIRST_BYTE_ID + b. */
export const FIRST_BYTE_ID = 3;
/** The smallest vocabulary: 3 specials and 256 byte tokens. */
export const MIN_VOCAB = FIRST_BYTE_ID + 256;

export interface SynthVocab {
  readonly tokens: string[];
  /** Scores as f32 values: 0 for specials and bytes, then -1, -2, -3, ... so earlier pieces win merges. */
  readonly scores: number[];
  readonly types: number[];
}

/** SentencePiece's word-boundary marker (U+2581), which stands for a space. */
export const SPACE = "\u2581";

// Common English words (written for this project); every prefix of "▁word" also becomes a piece, so words can be
// built by merging and the set stays closed under prefixes.
const WORDS = (
  "the and to a was he she it of in you that his her they with for on said but had is at one day little "
  + "time there were so be as have not what all we me my up out do when go big very like did could saw then "
  + "would no this them him from an some about happy who wanted play went get see over mom friend back home "
  + "tree ball dog cat bird sun sky good girl boy named once upon lily tom ben sam park fun look toy love "
  + "made new down into your more just can help run jump red blue green small long way how make find came "
  + "know now because too after again each other thing away man old house water food eat sad smile laugh"
).split(" ");

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";
const PUNCT = ".,!?'\"-:;()";

/** Candidate pieces in priority order (duplicates are skipped by the caller); endless. */
function* candidates(): Generator<string> {
  yield SPACE;
  for (const c of LOWER) yield c;
  for (const c of LOWER) yield SPACE + c;
  for (const c of PUNCT) yield c;
  for (const c of DIGITS) yield c;
  for (const c of UPPER) yield c;
  for (const c of UPPER) yield SPACE + c;
  for (const w of WORDS) for (let i = 2; i <= w.length; i++) yield SPACE + w.slice(0, i);
  // Then every "▁" + lower-case combination, shortest first and in lexicographic order, so prefixes come first.
  for (let len = 2; ; len++) {
    const total = LOWER.length ** len;
    for (let n = 0; n < total; n++) {
      let s = "";
      for (let k = 0, m = n; k < len; k++, m = Math.floor(m / LOWER.length)) s = LOWER[m % LOWER.length] + s;
      yield SPACE + s;
    }
  }
}

/** Builds a vocabulary of exactly `size` unique pieces (size >= 259); the same size always gives the same vocab. */
export function synthVocab(size: number): SynthVocab {
  if (!Number.isInteger(size) || size < MIN_VOCAB) throw new RangeError(`vocab size must be an integer >= ${MIN_VOCAB}, got ${size}`);
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  const scores: number[] = new Array<number>(tokens.length).fill(0);
  const seen = new Set(tokens);
  const gen = candidates();
  while (tokens.length < size) {
    const piece = gen.next().value as string;
    if (seen.has(piece)) continue;
    seen.add(piece);
    scores.push(MIN_VOCAB - 1 - tokens.length);
    tokens.push(piece);
    types.push(TOKEN_TYPE.NORMAL);
  }
  return { tokens, scores, types };
}
