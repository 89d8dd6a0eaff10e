// The merge ranks of a byte-level BPE vocabulary, indexed by token-id pairs for a fast merge loop.
//
// llama.cpp keeps a map from (left text, right text) to rank. We index merges by the ids of their two sides
// instead (a sorted table per left id: typed arrays, quick to build for 150k merges, no string keys on the hot
// path), and fall back to llama.cpp's text-keyed map only for words with symbols that are not tokens.

export class MergeTable {
  /** For left id L: entries start[L] .. start[L+1] of right / rank, sorted by right id. */
  private readonly start: Int32Array;
  private readonly right: Int32Array;
  private readonly rank: Int32Array;
  /** Token id each rank produces (its two sides joined): -2 not looked up yet, -1 not a token. */
  private readonly result: Int32Array;
  private textRanks: Map<string, number> | undefined;

  constructor(
    private readonly tokens: readonly string[],
    private readonly lookup: ReadonlyMap<string, number>,
    private readonly merges: readonly string[],
  ) {
    const n = tokens.length;
    const m = merges.length;
    const lefts = new Int32Array(m).fill(-1);
    const rights = new Int32Array(m);
    const count = new Int32Array(n + 1);
    for (let i = 0; i < m; i++) {
      // llama.cpp splits a merge at the first space after its first character.
      const text = merges[i]!;
      const at = text.indexOf(" ", 1);
      if (at < 0) continue;
      const l = lookup.get(text.slice(0, at));
      const r = lookup.get(text.slice(at + 1));
      if (l === undefined || r === undefined) continue;
      lefts[i] = l;
      rights[i] = r;
      count[l + 1]!++;
    }
    this.start = new Int32Array(n + 1);
    for (let l = 0; l < n; l++) this.start[l + 1] = this.start[l]! + count[l + 1]!;
    // Sort each left id's entries by (right id, rank) through one float key; the first of duplicates is the lowest rank.
    const keys = new Float64Array(this.start[n]!);
    const fill = this.start.slice(0, n);
    for (let i = 0; i < m; i++) if (lefts[i]! >= 0) keys[fill[lefts[i]!]!++] = rights[i]! * 2 ** 24 + i;
    for (let l = 0; l < n; l++) if (this.start[l + 1]! - this.start[l]! > 1) keys.subarray(this.start[l], this.start[l + 1]).sort();
    this.right = new Int32Array(keys.length);
    this.rank = new Int32Array(keys.length);
    keys.forEach((k, j) => {
      this.right[j] = Math.floor(k / 2 ** 24);
      this.rank[j] = k % 2 ** 24;
    });
    this.result = new Int32Array(m).fill(-2);
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
  resultOf(rank: number, left: number, right: number): number {
    let id = this.result[rank]!;
    if (id === -2) this.result[rank] = id = this.lookup.get(this.tokens[left]! + this.tokens[right]!) ?? -1;
    return id;
  }

  /** llama.cpp's own rank lookup by the two symbols' texts (undefined: no merge). */
  rankOfText(left: string, right: string): number | undefined {
    if (!this.textRanks) {
      this.textRanks = new Map();
      this.merges.forEach((text, i) => {
        const key = text.indexOf(" ", 1) < 0 ? " " : text;
        if (!this.textRanks!.has(key)) this.textRanks!.set(key, i);
      });
    }
    return this.textRanks.get(left + " " + right);
  }
}
