// Incremental detokenizer for generated tokens: emits only complete UTF-8 characters, holding partial ones back.
import type { PieceSource } from "./decode";
import { Utf8Decoder } from "./utf8";

export interface StreamDecoderOptions {
  /** Show control/unknown tokens as their text (default false: they produce nothing). */
  readonly special?: boolean;
  /**
   * Drop one leading space from the first token (default false). Generated text is a continuation, so
   * llama.cpp emits each piece as is ("▁there" -> " there"); set this only to stream a whole sequence
   * that decode() would strip.
   */
  readonly stripLeadingSpace?: boolean;
}

/**
 * Streams token ids to text. Invariant: the concatenation of every push() result and the final flush()
 * equals `tokenizer.decode(ids, { stripLeadingSpace: false })` for the same ids (with the same special setting),
 * which for a continuation equals decode([bos, ...ids]). Mid-stream results never contain a partial character:
 * bytes of an incomplete UTF-8 sequence (e.g. an emoji split over byte tokens) are held until it completes; a
 * sequence that turns out to be invalid becomes U+FFFD exactly where whole-sequence decoding puts it.
 */
export class StreamDecoder {
  private readonly utf8 = new Utf8Decoder();
  private first = true;
  private readonly special: boolean;
  private readonly stripLeadingSpace: boolean;

  constructor(
    private readonly pieces: PieceSource,
    options: StreamDecoderOptions = {},
  ) {
    this.special = options.special ?? false;
    this.stripLeadingSpace = options.stripLeadingSpace ?? false;
  }

  /** Adds one token; returns the text that became complete (often "", e.g. mid-character). */
  push(id: number): string {
    let bytes = this.pieces.bytes(id, this.special);
    if (this.first) {
      this.first = false;
      if (this.stripLeadingSpace && bytes.length > 0 && bytes[0] === 0x20) bytes = bytes.subarray(1);
    }
    return this.utf8.decode(bytes, true);
  }

  /** True while an incomplete character is being held back. */
  get pending(): boolean {
    return this.utf8.pending;
  }

  /** Ends the stream: returns what was held back (U+FFFD for an incomplete tail) and resets for reuse. */
  flush(): string {
    this.first = true;
    return this.utf8.decode([], false);
  }
}
