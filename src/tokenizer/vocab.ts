// Vocabulary model for the SentencePiece (llama.cpp "llama"/SPM) tokenizer: pieces, scores, token types, special ids.
import { TokenTexts, type TokenLookup } from "./token-texts";

/** Errors for unsupported or malformed vocabularies and invalid token ids. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenizerError";
  }
}

/** Token types as stored in `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`). */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenTypeValue = (typeof TokenType)[keyof typeof TokenType];

/** "No such token" (llama.cpp's LLAMA_TOKEN_NULL). */
export const NO_TOKEN = -1;

/** A validated vocabulary. Special ids are NO_TOKEN (-1) when the vocabulary has none. */
export interface Vocab {
  /** Piece text of each token id (SentencePiece form: U+2581 stands for a space), packed: tokens.text(id). */
  readonly tokens: TokenTexts;
  /** Merge priority of each piece: higher merges first (empty for byte-level BPE, which merges by rank). */
  readonly scores: Float32Array;
  /** TokenType of each token. */
  readonly types: Uint8Array;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  readonly padId: number;
  /** End-of-turn token (chat models), NO_TOKEN if none. */
  readonly eotId: number;
  /** End-of-message token, NO_TOKEN if none. */
  readonly eomId: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Prepend a space to the text (and to text after a special token) before tokenizing. */
  readonly addSpacePrefix: boolean;
  /** Piece text -> id (the same object as `tokens`). For duplicated pieces the last id wins, as in llama.cpp. */
  readonly lookup: TokenLookup;
  /** general.name and general.architecture: llama.cpp sets some token attributes by them (Phi-3's RSTRIP). */
  readonly modelName?: string;
  readonly architecture?: string;
}

/**
 * Input of makeVocab: everything but tokens and scores is optional, with llama.cpp's defaults for "llama".
 * Special ids: undefined, -1 or 0xFFFFFFFF = the default; null = none.
 */
export interface VocabInit {
  readonly tokens: readonly string[];
  readonly scores: ArrayLike<number>;
  /** Defaults to all NORMAL (llama.cpp's behaviour when tokenizer.ggml.token_type is absent). */
  readonly types?: ArrayLike<number>;
  readonly bosId?: number | null;
  readonly eosId?: number | null;
  readonly unkId?: number | null;
  readonly padId?: number | null;
  readonly eotId?: number | null;
  readonly eomId?: number | null;
  readonly addBos?: boolean;
  readonly addEos?: boolean;
  readonly addSpacePrefix?: boolean;
  readonly modelName?: string;
  readonly architecture?: string;
}

/** Piece texts that llama.cpp recognises as end-of-turn when no eot id is given. */
const EOT_TEXTS = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"];

/**
 * Validates and completes a vocabulary. Defaults follow llama.cpp for tokenizer.ggml.model "llama":
 * bos 1, eos 2, unk 0, no pad; addBos true, addEos false, addSpacePrefix true.
 * Throws TokenizerError for empty vocabularies, mismatched array lengths, bad types or out-of-range special ids.
 */
export function makeVocab(init: VocabInit): Vocab {
  const n = init.tokens.length;
  if (n === 0) throw new TokenizerError("vocabulary is empty (tokenizer.ggml.tokens has no entries)");
  if (init.scores.length !== n) {
    throw new TokenizerError(`vocabulary has ${n} tokens but ${init.scores.length} scores (tokenizer.ggml.scores)`);
  }
  if (init.types && init.types.length !== n) {
    throw new TokenizerError(`vocabulary has ${n} tokens but ${init.types.length} token types (tokenizer.ggml.token_type)`);
  }
  const scores = new Float32Array(n);
  const types = new Uint8Array(n).fill(TokenType.NORMAL);
  for (let i = 0; i < n; i++) {
    if (typeof init.tokens[i] !== "string") throw new TokenizerError(`token ${i} is not a string`);
    const score = init.scores[i]!;
    if (typeof score !== "number" || Number.isNaN(score)) throw new TokenizerError(`score of token ${i} is not a number`);
    scores[i] = score;
    if (init.types) {
      const t = init.types[i]!;
      if (!Number.isInteger(t) || t < 0 || t > TokenType.BYTE) {
        throw new TokenizerError(`token ${i} has unknown token type ${t} (expected 0..6)`);
      }
      types[i] = t;
    }
  }
  const tokens = packTokens(init.tokens);
  const lookup = tokens;
  const special = (name: string, value: number | null | undefined, fallback: number): number => {
    if (value === null) return NO_TOKEN;
    // Absent, or GGUF's "none" (-1 / uint32 0xFFFFFFFF): llama.cpp keeps its default, disabled past the end.
    if (value === undefined || value === -1 || value === 0xffffffff) return fallback < n ? fallback : NO_TOKEN;
    if (!Number.isInteger(value) || value < 0 || value >= n) {
      throw new TokenizerError(`${name} token id ${value} is out of range (vocabulary has ${n} tokens)`);
    }
    return value;
  };
  let eotId = special("end-of-turn", init.eotId, NO_TOKEN);
  if (eotId === NO_TOKEN) {
    for (const text of EOT_TEXTS) {
      const id = lookup.get(text);
      if (id !== undefined && types[id] === TokenType.CONTROL) {
        eotId = id;
        break;
      }
    }
  }
  return {
    tokens,
    scores,
    types,
    bosId: special("BOS", init.bosId, 1),
    eosId: special("EOS", init.eosId, 2),
    unkId: special("unknown", init.unkId, 0),
    padId: special("padding", init.padId, NO_TOKEN),
    eotId,
    eomId: special("end-of-message", init.eomId, NO_TOKEN),
    addBos: init.addBos ?? true,
    addEos: init.addEos ?? false,
    addSpacePrefix: init.addSpacePrefix ?? true,
    lookup,
    ...(init.modelName !== undefined ? { modelName: init.modelName } : {}),
    ...(init.architecture !== undefined ? { architecture: init.architecture } : {}),
  };
}

/** Packs piece texts; llama.cpp renames empty pieces ("[EMPTY_<id>]") so that every piece is distinct and non-empty. */
export function packTokens(texts: readonly string[]): TokenTexts {
  return new TokenTexts(texts.length, (i) => (texts[i] === "" ? `[EMPTY_${i}]` : texts[i]!));
}
