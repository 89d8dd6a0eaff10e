// The tokenizer.* metadata of a synthetic model: the generated SentencePiece vocabulary, or one copied from a GGUF.
import { KEY, gguf, metaArray, readGguf, type GgufFile, type GgufValue } from "../../../src/gguf/index";
import { GgufValueType } from "../../../src/gguf/types";
import { BOS_ID, EOS_ID, UNK_ID, synthVocab } from "./vocab";

export type MetadataEntry = [string, GgufValue];

/** The tokenizer keys and the vocabulary size they define (token_embd/output rows). */
export interface SynthTokenizer {
  readonly entries: readonly MetadataEntry[];
  readonly size: number;
}

const { u32, str, arr } = gguf;

/** The generated vocabulary of `size` pieces (see vocab.ts), keys in the order the original generator wrote them. */
export function synthTokenizer(size: number): SynthTokenizer {
  const vocab = synthVocab(size);
  return {
    size,
    entries: [
      [KEY.tokenizerModel, str("llama")],
      [KEY.tokens, arr(GgufValueType.STRING, vocab.tokens)],
      [KEY.scores, arr(GgufValueType.FLOAT32, vocab.scores)],
      [KEY.tokenType, arr(GgufValueType.INT32, vocab.types)],
      [KEY.bosId, u32(BOS_ID)],
      [KEY.eosId, u32(EOS_ID)],
      [KEY.unkId, u32(UNK_ID)],
    ],
  };
}

const TOKENIZER_PREFIX = "tokenizer.";

/**
 * Every `tokenizer.*` key of a GGUF (model, pre, tokens, scores, token_type, merges, special ids, add_bos/add_eos,
 * chat templates, ...), values and order unchanged; the size is the token list's length. Accepts a parsed file or its
 * bytes (a vocabulary-only GGUF is enough: tensors are ignored).
 */
export function tokenizerFromGguf(source: GgufFile | Uint8Array): SynthTokenizer {
  const file = source instanceof Uint8Array ? readGguf(source) : source;
  if (!file.metadata.has(KEY.tokens)) throw new RangeError(`vocabulary source has no ${KEY.tokens}`);
  const entries = [...file.metadata].filter(([k]) => k.startsWith(TOKENIZER_PREFIX)).map(([k, v]): MetadataEntry => [k, v]);
  return { entries, size: metaArray(file, KEY.tokens).items.length };
}
