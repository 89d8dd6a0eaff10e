// SentencePiece BPE encoding as llama.cpp's SPM tokenizer does it: score-ordered pair merges, then byte fallback.
import { BinaryHeap, unlinkMerged } from "./merge-queue";
import { partitionSpecial as partitionText, spmSpecials } from "./special-tokens";
import { NO_TOKEN, TokenizerError, type Vocab } from "./vocab";

/** The SentencePiece meta symbol that stands for a space in pieces. */
export const SPACE_SYMBOL = "\u2581";

interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly score: number;
  /** Length (UTF-16 units) of left + right when queued; a mismatch later means the entry is stale. */
  readonly size: number;
}

/** Max-heap order on score; equal scores: the leftmost pair first. */
function byScore(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

/** For each byte value, the id of its `<0xXX>` piece (else a one-byte piece, else unk, else NO_TOKEN). */
export function byteFallbackTable(vocab: Vocab): Int32Array {
  const table = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const hex = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
    table[b] = vocab.lookup.get(hex) ?? (b < 0x80 ? vocab.lookup.get(String.fromCharCode(b)) : undefined) ?? vocab.unkId;
  }
  return table;
}

/** SentencePiece escaping: every ' ' becomes U+2581 (tabs and newlines are kept). */
export function escapeWhitespace(text: string): string {
  return text.replaceAll(" ", SPACE_SYMBOL);
}

const encoder = new TextEncoder();

/**
 * Tokenizes one already-escaped text fragment and appends the ids to `out`.
 *
 * The text is split into characters; the adjacent pair whose concatenation is a vocabulary piece with the
 * highest score is merged (ties: leftmost), repeatedly, until no pair forms a piece. Each final symbol is
 * emitted as its piece id, or, if it is not a piece (only possible for a single character, since merges
 * only ever form pieces), as byte-fallback tokens for its UTF-8 bytes. llama.cpp's "resegment" step walks a
 * merge history for symbols missing from the vocabulary; as merged symbols are always pieces, it reduces to
 * exactly this piece-or-bytes rule. Like llama.cpp, merges may form any piece, whatever its token type.
 */
export function spmEncodeFragment(vocab: Vocab, byteTokens: Int32Array, text: string, out: number[]): void {
  if (text.length === 0) return;
  // Symbols: [start, start+len) ranges of the text as a doubly linked list; len 0 = merged away.
  const starts: number[] = [];
  for (let i = 0; i < text.length; ) {
    starts.push(i);
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
  }
  const n = starts.length;
  const start = Int32Array.from(starts);
  const len = new Int32Array(n);
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    len[i] = (i + 1 < n ? start[i + 1]! : text.length) - start[i]!;
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }

  const queue = new BinaryHeap(byScore);
  const tryAdd = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const size = len[left]! + len[right]!;
    const id = vocab.tokens.find(text, start[left]!, start[left]! + size);
    if (id < 0) return;
    queue.push({ left, right, score: vocab.scores[id]!, size });
  };
  for (let i = 1; i < n; i++) tryAdd(i - 1, i);

  while (queue.size > 0) {
    const { left, right, size } = queue.pop();
    // Skip entries made stale by an earlier merge of either symbol.
    if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== size) continue;
    len[left] = size;
    len[right] = 0;
    unlinkMerged(prev, next, left, right, tryAdd);
  }

  for (let i = 0; i >= 0; i = next[i]!) {
    const id = vocab.tokens.find(text, start[i]!, start[i]! + len[i]!);
    if (id >= 0) {
      out.push(id);
      continue;
    }
    for (const b of encoder.encode(text.slice(start[i]!, start[i]! + len[i]!))) {
      const byteId = byteTokens[b]!;
      if (byteId === NO_TOKEN) {
        throw new TokenizerError(`cannot encode byte 0x${b.toString(16)}: the vocabulary has no <0x..> byte token and no unknown token`);
      }
      out.push(byteId);
    }
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Ids of the tokens tokenizer_st_partition tries (control, user-defined, unknown, after llama.cpp's load-time fixes),
 * longest UTF-8 text first, ties by id.
 */
export function specialTokenIds(vocab: Vocab): number[] {
  return [...spmSpecials(vocab).candidates];
}

/** A piece of input text: raw text to tokenize, or a special token matched in the text. */
export type Fragment = { readonly text: string } | { readonly token: number };

/**
 * Splits text on the texts of special tokens, each token in turn (longest first), all occurrences, as
 * llama.cpp's tokenizer_st_partition does. Control/unknown tokens take part only with parseSpecial; user-defined
 * ones always; RSTRIP / LSTRIP tokens (Phi-3) eat the whitespace beside them.
 */
export function partitionSpecial(vocab: Vocab, specials: readonly number[], text: string, parseSpecial: boolean): Fragment[] {
  return partitionText(text, vocab.tokens, spmSpecials(vocab).attrs, specials, parseSpecial);
}
