// The merge ranks of a byte-level BPE vocabulary, indexed by token-id pairs for a fast merge loop.
//
// llama.cpp keeps a map from (left text, right text) to rank. We index merges by the ids of their two sides
// instead (a sorted table per left id: typed arrays, quick to build for 150k merges, no string keys on the hot
// path). The merge texts are not kept: llama.cpp's text-keyed lookup, needed only for words with symbols that are
// not tokens, is answered from the same table (plus the rare merges whose sides are not tokens).
import type { TokenTexts } from "./token-texts";

export class MergeTable {
  /** For left id L: entries start[L] .. start[L+1] of right / rank, sorted by right id. */
  private readonly start: Int32Array;
  /** 16-bit when every id fits (vocabularies up to 65,536 tokens). */
  private readonly right: Uint16Array | Int32Array;
  private readonly rank: Int32Array;
  /** Merges a side of which is not a token (rare): "left right" text -> first rank; only rankOfText reads them. */
  private readonly textRanks = new Map<string, number>();
  /** Rank of the first merge without a space after its first character (llama.cpp keys them all as " "). */
  private readonly noSplitRank: number | undefined;

  /** Indexes `merges` ("left right" texts, by rank); the texts are not kept. */
  constructor(
    private readonly tokens: TokenTexts,
    merges: readonly string[],
  ) {
    const n = tokens.length;
    const m = merges.length;
    const lefts = new Int32Array(m).fill(-1);
    const rights = new Int32Array(m);
    const count = new Int32Array(n + 1);
    let noSplit: number | undefined;
    for (let i = 0; i < m; i++) {
      // llama.cpp splits a merge at the first space after its first character.
      const text = merges[i]!;
      const at = text.indexOf(" ", 1);
      if (at < 0) {
        noSplit ??= i;
        continue;
      }
      const l = tokens.find(text, 0, at);
      const r = tokens.find(text, at + 1, text.length);
      if (l < 0 || r < 0) {
        if (!this.textRanks.has(text)) this.textRanks.set(text, i);
        continue;
      }
      lefts[i] = l;
      rights[i] = r;
      count[l + 1]!++;
    }
    this.noSplitRank = noSplit;
    this.start = new Int32Array(n + 1);
    for (let l = 0; l < n; l++) this.start[l + 1] = this.start[l]! + count[l + 1]!;
    // Sort each left id's entries by (right id, rank) through one float key; the first of duplicates is the lowest rank.
    const keys = new Float64Array(this.start[n]!);
    const fill = this.start.slice(0, n);
    for (let i = 0; i < m; i++) if (lefts[i]! >= 0) keys[fill[lefts[i]!]!++] = rights[i]! * 2 ** 24 + i;
    for (let l = 0; l < n; l++) if (this.start[l + 1]! - this.start[l]! > 1) keys.subarray(this.start[l], this.start[l + 1]).sort();
    this.right = n <= 0x10000 ? new Uint16Array(keys.length) : new Int32Array(keys.length);
    this.rank = new Int32Array(keys.length);
    keys.forEach((k, j) => {
      this.right[j] = Math.floor(k / 2 ** 24);
      this.rank[j] = k % 2 ** 24;
    });
  }

  /** Bytes held by the table's typed arrays, plus an estimate of 64 bytes per merge kept as text. */
  get byteLength(): number {
    return this.start.byteLength + this.right.byteLength + this.rank.byteLength + 64 * this.textRanks.size;
  }

  /** Rank of merging tokens left + right, -1 if no merge joins them. */
  rankOf(left: number, right: number): number {
    let lo = this.start[left]!;
    let hi = this.start[left + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.right[mid]!;
      if (r === right) {
        // Step back to the first (lowest-rank) duplicate.
        let j = mid;
        while (j > lo && this.right[j - 1] === right) j--;
        return this.rank[j]!;
      }
      if (r < right) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The token a merge produces (its two sides' texts joined), -1 if that text is not a token. */
  resultOf(left: number, right: number): number {
    return this.tokens.findConcat(left, right);
  }

  /**
   * llama.cpp's own rank lookup by the two symbols' texts (undefined: no merge): the first merge whose text is
   * `left + " " + right`. That text splits (at its first space after the first character) into two sides; when both
   * are tokens the id-indexed table has the answer, else the few merges kept as text do.
   */
  rankOfText(left: string, right: string): number | undefined {
    const text = left + " " + right;
    const at = text.indexOf(" ", 1);
    if (at < 0) return text === " " ? this.noSplitRank : undefined;
    const l = this.tokens.find(text, 0, at);
    const r = l < 0 ? -1 : this.tokens.find(text, at + 1, text.length);
    if (l < 0 || r < 0) return this.textRanks.get(text);
    const rank = this.rankOf(l, r);
    return rank < 0 ? undefined : rank;
  }
}
