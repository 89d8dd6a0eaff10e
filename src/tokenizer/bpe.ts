// Byte-level BPE as llama.cpp's llm_tokenizer_bpe_session: pre-tokenize, then merge each word by rank.
import type { BpeVocab } from "./bpe-vocab";
import type { MergeTable } from "./bpe-merges";
import { BinaryHeap, unlinkMerged } from "./merge-queue";
import { compileRegex, preTokenize, type CompiledRegex } from "./bpe-pretokenize";

/** A candidate merge of two adjacent symbols; stale once either symbol has changed (length, or token id). */
interface Bigram {
  readonly rank: number;
  readonly left: number;
  readonly right: number;
  readonly leftLen: number;
  readonly rightLen: number;
}

/** Min-heap order on rank; equal ranks: the leftmost pair first (llama.cpp's llm_bigram_bpe ordering). */
function byRank(a: Bigram, b: Bigram): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
}

/**
 * Words tokenized so far; cleared when it grows past this many entries. Small: it lives as long as the model, in the
 * isolate's JS heap (about 100 bytes an entry), and a request's text repeats its common words well within it.
 */
const CACHE_LIMIT = 4096;
/** JS heap estimate of one cache entry beside its key's characters and its ids: Map slot, string and array headers. */
const CACHE_ENTRY_BYTES = 96;

/** Encodes raw text (no special tokens in it) for one BPE vocabulary; caches the ids of each distinct word. */
export class BpeEncoder {
  private readonly regexes: CompiledRegex[];
  private readonly cache = new Map<string, readonly number[]>();
  private cacheBytes = 0;
  private readonly merges: MergeTable;
  /** Token id of each one-character symbol (a GPT-2 byte character), -1 if it is not a token. */
  private readonly charId = new Int32Array(512).fill(-1);

  constructor(private readonly vocab: BpeVocab) {
    this.regexes = vocab.spec.regexes.map(compileRegex);
    this.merges = vocab.merges;
    for (let c = 0; c < this.charId.length; c++) this.charId[c] = vocab.lookup.get(String.fromCharCode(c)) ?? -1;
  }

  /** Bytes held: the merge table, the per-character ids and (an estimate of) the word cache. Not the vocabulary's texts. */
  heapBytes(): number {
    return this.merges.byteLength + this.charId.byteLength + this.cacheBytes;
  }

  /** Appends the ids of `text` to `out`. */
  encode(text: string, out: number[]): void {
    for (const word of preTokenize(text, this.regexes)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (this.cache.size >= CACHE_LIMIT) {
          this.cache.clear();
          this.cacheBytes = 0;
        }
        this.cache.set(word, ids);
        this.cacheBytes += CACHE_ENTRY_BYTES + 2 * word.length + 8 * ids.length;
      }
      for (const id of ids) out.push(id);
    }
  }

  /**
   * One byte-encoded word: with ignore_merges a word that is a token is that token; otherwise its characters (one
   * per byte) merge pairwise, lowest rank first, ties leftmost, while a pair has a merge. Each final symbol is its
   * token; one that is not in the vocabulary gives the tokens of its ASCII characters, and loses the rest, as
   * llama.cpp looks up each byte of the encoded text alone.
   */
  encodeWord(word: string): number[] {
    if (this.vocab.ignoreMerges) {
      const id = this.vocab.lookup.get(word);
      if (id !== undefined) return [id];
    }
    return this.mergeIds(word) ?? this.mergeText(word);
  }

  /**
   * The merge loop on token ids (fast: no strings); undefined when a symbol is not a token (a byte without a token,
   * a merge whose result is not in the vocabulary), which only mergeText handles.
   */
  private mergeIds(word: string): number[] | undefined {
    const n = word.length;
    const sym = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = word.charCodeAt(i);
      sym[i] = c < this.charId.length ? this.charId[c]! : -1;
      if (sym[i]! < 0) return undefined;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new BinaryHeap(byRank);
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = this.merges.rankOf(sym[left]!, sym[right]!);
      if (rank >= 0) heap.push({ rank, left, right, leftLen: sym[left]!, rightLen: sym[right]! });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      // Here leftLen / rightLen hold the symbols' token ids when queued.
      const { left, right, leftLen: leftId, rightLen: rightId } = heap.pop();
      if (sym[left] !== leftId || sym[right] !== rightId || next[left] !== right) continue;
      const merged = this.merges.resultOf(leftId, rightId);
      if (merged < 0) return undefined;
      sym[left] = merged;
      sym[right] = -1;
      unlinkMerged(prev, next, left, right, tryAdd);
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) ids.push(sym[i]!);
    return ids;
  }

  /** The merge loop on symbol texts, exactly as llama.cpp; see encodeWord. */
  private mergeText(word: string): number[] {
    const lookup = this.vocab.lookup;
    const n = word.length;
    const len = new Int32Array(n).fill(1);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new BinaryHeap(byRank);
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = this.merges.rankOfText(word.slice(left, left + len[left]!), word.slice(right, right + len[right]!));
      if (rank !== undefined) heap.push({ rank, left, right, leftLen: len[left]!, rightLen: len[right]! });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const { left, right, leftLen, rightLen } = heap.pop();
      if (len[left] !== leftLen || len[right] !== rightLen || leftLen === 0 || rightLen === 0 || next[left] !== right) continue;
      len[left] = leftLen + rightLen;
      len[right] = 0;
      unlinkMerged(prev, next, left, right, tryAdd);
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) {
      const symbol = word.slice(i, i + len[i]!);
      const id = lookup.get(symbol);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const c of symbol) {
        const byteId = c.charCodeAt(0) < 0x80 ? lookup.get(c) : undefined;
        if (byteId !== undefined) ids.push(byteId);
      }
    }
    return ids;
  }
}
