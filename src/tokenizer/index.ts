// Tokenizer facade: llama.cpp-exact SentencePiece encode, detokenize and streaming decode for "llama" GGUF vocabularies.
import type { GgufFile } from "../gguf/index";
import { PieceTable, detokenize } from "./decode";
import { vocabFromGguf } from "./gguf-vocab";
import { byteFallbackTable, escapeWhitespace, partitionSpecial, specialTokenIds, spmEncodeFragment } from "./spm";
import { StreamDecoder, type StreamDecoderOptions } from "./stream-decoder";
import { NO_TOKEN, type Vocab } from "./vocab";

export { TokenizerError, TokenType, NO_TOKEN, makeVocab, type Vocab, type VocabInit, type TokenTypeValue } from "./vocab";
export { StreamDecoder, type StreamDecoderOptions } from "./stream-decoder";
export { vocabFromGguf } from "./gguf-vocab";
export { Utf8Decoder, decodeUtf8 } from "./utf8";

export interface EncodeOptions {
  /** Prepend BOS (default: the vocabulary's add_bos_token, true for llama). */
  readonly addBos?: boolean;
  /** Append EOS (default: the vocabulary's add_eos_token, false for llama). */
  readonly addEos?: boolean;
  /** Turn the text of control tokens ("<s>", "</s>", "<unk>") into those tokens (default false: plain text). */
  readonly parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop control and unknown tokens from the text (default true); false shows their piece text ("<s>"). */
  readonly skipSpecial?: boolean;
  /**
   * Drop one leading space from the first token (default: the vocabulary's add_space_prefix, as
   * llama_detokenize). So decode(encode("Hi", {addBos:false})) is "Hi", while a leading BOS takes the
   * strip and decode([bos, ▁Hi]) is " Hi". Pass false to decode a continuation (generated text).
   */
  readonly stripLeadingSpace?: boolean;
}

/** Lone UTF-16 surrogates cannot be UTF-8 encoded; like a JS -> UTF-8 conversion, they become U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export class Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  private readonly pieces: PieceTable;
  private readonly byteTokens: Int32Array;
  private readonly specials: number[];
  private readonly eog: ReadonlySet<number>;

  constructor(readonly vocab: Vocab) {
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.vocabSize = vocab.tokens.length;
    this.pieces = new PieceTable(vocab);
    this.byteTokens = byteFallbackTable(vocab);
    this.specials = specialTokenIds(vocab);
    this.eog = new Set([vocab.eosId, vocab.eotId, vocab.eomId].filter((id) => id !== NO_TOKEN));
  }

  /**
   * Text -> token ids, exactly as llama_tokenize(text, add_special=addBos, parse_special). Each raw-text
   * fragment that starts the text or follows a special token gets a space prefix (add_space_prefix); spaces
   * become U+2581; the fragment is SentencePiece-BPE merged with byte fallback. Empty text gives no text tokens.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const addBos = options.addBos ?? this.vocab.addBos;
    const addEos = options.addEos ?? this.vocab.addEos;
    const out: number[] = [];
    if (addBos && this.bosId !== NO_TOKEN) out.push(this.bosId);
    const clean = text.replace(LONE_SURROGATE, "\uFFFD");
    if (clean.length > 0) {
      let prevSpecial = true;
      for (const fragment of partitionSpecial(this.vocab, this.specials, clean, options.parseSpecial ?? false)) {
        if ("token" in fragment) {
          out.push(fragment.token);
          prevSpecial = true;
          continue;
        }
        const raw = this.vocab.addSpacePrefix && prevSpecial ? " " + fragment.text : fragment.text;
        spmEncodeFragment(this.vocab, this.byteTokens, escapeWhitespace(raw), out);
        prevSpecial = false;
      }
    }
    if (addEos && this.eosId !== NO_TOKEN) out.push(this.eosId);
    return out;
  }

  /**
   * Token ids -> text, as llama_detokenize(ids, remove_special=false, unparse_special=!skipSpecial):
   * byte tokens are raw bytes, U+2581 is a space, control/unknown tokens are empty unless skipSpecial is
   * false, broken UTF-8 becomes U+FFFD, no space clean-up. See DecodeOptions.stripLeadingSpace.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return detokenize(this.pieces, ids, {
      special: !(options.skipSpecial ?? true),
      stripLeadingSpace: options.stripLeadingSpace ?? this.vocab.addSpacePrefix,
    });
  }

  /** Raw bytes of one token (U+2581 -> space, byte tokens -> their byte, control/unknown -> empty). Do not modify. */
  tokenBytes(id: number): Uint8Array {
    return this.pieces.bytes(id, false);
  }

  /** The piece text of a token as stored in the vocabulary ("▁the", "<0x0A>", "<s>"). */
  tokenText(id: number): string {
    this.pieces.check(id);
    return this.vocab.tokens[id]!;
  }

  /** End of generation: EOS, or the end-of-turn / end-of-message token when the vocabulary has one. */
  isEog(id: number): boolean {
    return this.eog.has(id);
  }

  /** A decoder for generated tokens: pieces are emitted as is (no leading-space strip) by default. */
  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    return new StreamDecoder(this.pieces, options);
  }
}

/** Builds the tokenizer of a GGUF file; TokenizerError for unsupported models or malformed vocabularies. */
export function createTokenizer(file: GgufFile): Tokenizer {
  return new Tokenizer(vocabFromGguf(file));
}
