// Tokenizer facade: llama.cpp-exact encode, detokenize and streaming decode for "llama" (SentencePiece) and "gpt2"
// (byte-level BPE) GGUF vocabularies.
import { KEY, type GgufFile } from "../gguf/index";
import { BpeEncoder } from "./bpe";
import { BpePieceTable, cleanSpaces } from "./bpe-decode";
import { bpeVocabFromGguf, type BpeVocab } from "./bpe-vocab";
import { PieceTable, detokenize, type PieceSource } from "./decode";
import { vocabFromGguf } from "./gguf-vocab";
import { partitionSpecial as partitionBpe, spmSpecials } from "./special-tokens";
import { byteFallbackTable, escapeWhitespace, partitionSpecial, specialTokenIds, spmEncodeFragment } from "./spm";
import { StreamDecoder, type StreamDecoderOptions } from "./stream-decoder";
import { NO_TOKEN, type Vocab } from "./vocab";

export { TokenizerError, TokenType, NO_TOKEN, makeVocab, type Vocab, type VocabInit, type TokenTypeValue } from "./vocab";
export { StreamDecoder, type StreamDecoderOptions } from "./stream-decoder";
export { vocabFromGguf } from "./gguf-vocab";
export { bpeVocabFromGguf, type BpeVocab } from "./bpe-vocab";
export { Utf8Decoder, decodeUtf8 } from "./utf8";

export interface EncodeOptions {
  /**
   * llama_tokenize's add_special (default true): add BOS / EOS where the vocabulary asks for them (add_bos_token /
   * add_eos_token, with llama.cpp's defaults per vocabulary type). addBos / addEos, when given, decide instead.
   */
  readonly addSpecial?: boolean;
  /** Prepend BOS (default: addSpecial and the vocabulary's add_bos_token, true for llama, false for most BPE). */
  readonly addBos?: boolean;
  /** Append EOS (default: addSpecial and the vocabulary's add_eos_token, usually false). */
  readonly addEos?: boolean;
  /**
   * llama_tokenize's parse_special: turn the text of control tokens ("<s>", "<|im_end|>") into those tokens (default
   * false: plain text). User-defined tokens are matched either way, as llama.cpp does.
   */
  readonly parseSpecial?: boolean;
}

/** A piece of text to encode with its own parse_special (Tokenizer.encodeSegments). */
export interface TextSegment {
  readonly text: string;
  readonly parseSpecial: boolean;
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
  /**
   * Apply llama_detokenize's space clean-up (" ." -> ".", " 's" -> "'s") when the vocabulary has clean_spaces (gpt-2,
   * starcoder, llama-bpe...). Default false: the text is the tokens' pieces joined, as streaming and llama.cpp's server
   * give it, so decode(encode(s)) is s.
   */
  readonly cleanSpaces?: boolean;
}

/** JS heap estimate of a tokenizer's objects beside its arrays: vocabulary and encoder objects, compiled regexes, closures. */
const OBJECT_BYTES = 16 << 10;

/** Lone UTF-16 surrogates cannot be UTF-8 encoded; like a JS -> UTF-8 conversion, they become U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export class Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  /** tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
  readonly model: "llama" | "gpt2";
  /**
   * End-of-generation tokens as llama.cpp computes them at load (special_eog_ids): eos, eot, eom, the FIM pad / repo /
   * separator tokens, and every token whose text is a known end marker (<|im_end|>, <|eot_id|>, <|endoftext|>, </s>...).
   */
  readonly eogIds: ReadonlySet<number>;
  private readonly pieces: PieceSource;
  private readonly bpe: { readonly vocab: BpeVocab; readonly encoder: BpeEncoder } | undefined;
  private readonly byteTokens: Int32Array;
  private readonly specials: number[];

  /** A tokenizer for a vocabulary: a BpeVocab (bpeVocabFromGguf) gives the byte-level BPE one, any other Vocab SentencePiece. */
  constructor(readonly vocab: Vocab) {
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.vocabSize = vocab.tokens.length;
    if (isBpeVocab(vocab)) {
      this.model = "gpt2";
      this.bpe = { vocab, encoder: new BpeEncoder(vocab) };
      this.pieces = new BpePieceTable(vocab);
      this.eogIds = vocab.eog;
      this.byteTokens = new Int32Array(0);
      this.specials = [];
    } else {
      this.model = "llama";
      this.bpe = undefined;
      this.pieces = new PieceTable(vocab);
      this.byteTokens = byteFallbackTable(vocab);
      this.specials = specialTokenIds(vocab);
      this.eogIds = spmSpecials(vocab).eog;
    }
  }

  /**
   * Text -> token ids, exactly as llama_tokenize(text, add_special, parse_special).
   * SentencePiece: each raw-text fragment that starts the text or follows a special token gets a space prefix
   * (add_space_prefix); spaces become U+2581; the fragment is SentencePiece-BPE merged with byte fallback.
   * Byte-level BPE: each fragment is pre-tokenized by the vocabulary's tokenizer.ggml.pre regexes, byte-encoded and
   * merged by rank. Empty text gives no text tokens.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeSegments([{ text, parseSpecial: options.parseSpecial ?? false }], options);
  }

  /**
   * Text made of segments, each with its own parse_special: a chat prompt's template text (its "<|im_start|>" are
   * control tokens) and message contents (always literal). Special tokens are looked for inside each segment only, so
   * none can straddle a boundary; the raw text between special tokens is then encoded as one piece across segment
   * boundaries, exactly as llama_tokenize would encode the joined text. So for contents without special-token text
   * the ids equal encode(joined, {parseSpecial: true}), and a content "<|im_end|>" stays the literal pieces.
   * options.parseSpecial is ignored here: each segment says its own.
   */
  encodeSegments(segments: readonly TextSegment[], options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecial ?? true;
    const addBos = options.addBos ?? (addSpecial && this.vocab.addBos);
    const addEos = options.addEos ?? (addSpecial && this.vocab.addEos);
    const out: number[] = [];
    if (addBos && this.bosId !== NO_TOKEN) out.push(this.bosId);
    let pending = ""; // raw text not yet encoded: it may continue in the next segment
    let prevSpecial = true; // SentencePiece: a raw fragment that starts the text or follows a special gets the space prefix
    const flush = () => {
      if (pending.length === 0) return;
      if (this.bpe) this.bpe.encoder.encode(pending, out);
      else {
        const raw = this.vocab.addSpacePrefix && prevSpecial ? " " + pending : pending;
        spmEncodeFragment(this.vocab, this.byteTokens, escapeWhitespace(raw), out);
      }
      pending = "";
      prevSpecial = false;
    };
    for (const segment of segments) {
      const clean = segment.text.replace(LONE_SURROGATE, "\uFFFD");
      if (clean.length === 0) continue;
      const fragments = this.bpe
        ? partitionBpe(clean, this.bpe.vocab.tokens, this.bpe.vocab.attrs, this.bpe.vocab.candidates, segment.parseSpecial)
        : partitionSpecial(this.vocab, this.specials, clean, segment.parseSpecial);
      for (const fragment of fragments) {
        if ("token" in fragment) {
          flush();
          out.push(fragment.token);
          prevSpecial = true;
        } else pending += fragment.text;
      }
    }
    flush();
    if (addEos && this.eosId !== NO_TOKEN) out.push(this.eosId);
    return out;
  }

  /**
   * Token ids -> text, as llama_detokenize(ids, remove_special=false, unparse_special=!skipSpecial) without its space
   * clean-up unless cleanSpaces: byte tokens are raw bytes, U+2581 (SentencePiece) is a space, byte-level BPE
   * pieces are turned back into their bytes, control/unknown tokens are empty unless skipSpecial is false, broken
   * UTF-8 becomes U+FFFD. See DecodeOptions.stripLeadingSpace.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const text = detokenize(this.pieces, ids, {
      special: !(options.skipSpecial ?? true),
      stripLeadingSpace: options.stripLeadingSpace ?? this.vocab.addSpacePrefix,
    });
    return options.cleanSpaces && this.bpe?.vocab.cleanSpaces ? cleanSpaces(text) : text;
  }

  /** Raw bytes of one token (its text turned back into bytes; control/unknown -> empty). Do not modify. */
  tokenBytes(id: number): Uint8Array {
    return this.pieces.bytes(id, false);
  }

  /**
   * The bytes llama_token_to_piece gives for one token (lstrip 0): `special` (llama.cpp's default in its tools and
   * server) shows control and unknown tokens as their text, else they are empty. Do not modify.
   */
  pieceBytes(id: number, special = true): Uint8Array {
    this.pieces.check(id);
    return this.pieces.bytes(id, special);
  }

  /** The piece text of a token as stored in the vocabulary ("▁the", "<0x0A>", "Ġthe", "<s>"). */
  tokenText(id: number): string {
    this.pieces.check(id);
    return this.vocab.tokens.text(id);
  }

  /**
   * Bytes this tokenizer keeps alive: its typed arrays (packed piece texts and their hash, merges, scores, types,
   * attributes) exactly, plus estimates for the rest: special-token lists and texts (32 bytes an entry plus 2 a
   * character), the byte-level BPE word cache (see BpeEncoder.heapBytes) and OBJECT_BYTES for the objects, compiled
   * regexes and closures. What the host may count for the tokenizer against an isolate's memory.
   */
  heapBytes(): number {
    const v = this.vocab;
    const specials = (ids: readonly number[]) => ids.reduce((sum, id) => sum + 32 + 2 * v.tokens.textLength(id), 0);
    let bytes = OBJECT_BYTES + v.tokens.byteLength + v.scores.byteLength + v.types.byteLength + 32 * this.eogIds.size;
    if (this.bpe) bytes += this.bpe.vocab.attrs.byteLength + specials(this.bpe.vocab.candidates) + this.bpe.encoder.heapBytes();
    else {
      const s = spmSpecials(v);
      bytes += this.byteTokens.byteLength + s.attrs.byteLength + s.types.byteLength + specials(s.candidates) + 8 * this.specials.length;
    }
    return bytes;
  }

  /** End of generation: membership in eogIds. */
  isEog(id: number): boolean {
    return this.eogIds.has(id);
  }

  /** A decoder for generated tokens: pieces are emitted as is (no leading-space strip) by default. */
  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    return new StreamDecoder(this.pieces, options);
  }
}

function isBpeVocab(vocab: Vocab): vocab is BpeVocab {
  return (vocab as Partial<BpeVocab>).model === "gpt2";
}

/**
 * Builds the tokenizer of a GGUF file: "llama" vocabularies get SentencePiece, "gpt2" byte-level BPE.
 * TokenizerError for other or malformed vocabularies; ModelError for a tokenizer.ggml.pre llama.cpp does not know.
 */
export function createTokenizer(file: GgufFile): Tokenizer {
  const model = file.metadata.get(KEY.tokenizerModel);
  if (model?.value === "gpt2") return new Tokenizer(bpeVocabFromGguf(file));
  return new Tokenizer(vocabFromGguf(file));
}
