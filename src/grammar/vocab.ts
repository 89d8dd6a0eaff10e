// The vocabulary as a byte trie, and the allowed-token mask computed by walking it together with a grammar state.
import { ABSORB_CAP, isTextByte, textAbsorb } from "./absorb";
import type { GState, GrammarEngine } from "./engine";

export interface TokenVocabOptions {
  /** End-of-generation token ids: allowed exactly when the grammar is complete. */
  readonly eogTokens?: readonly number[];
}

/**
 * Token id → bytes, and the byte trie of all of them (CSR arrays in depth-first order, so a walk reads memory forward).
 * A token with no bytes (control tokens) is never in a mask, except the EOG ids when the grammar is complete.
 */
export class TokenVocab {
  readonly size: number;
  readonly eog: readonly number[];
  /** Node n's children are entries childStart[n] .. childStart[n+1]-1 of childByte/childNode. */
  readonly childStart: Int32Array;
  readonly childByte: Uint8Array;
  readonly childNode: Int32Array;
  /** Token ids whose bytes end at node n: tokIds[tokStart[n] .. tokStart[n+1]-1] (duplicates happen, e.g. SPM byte tokens). */
  readonly tokStart: Int32Array;
  readonly tokIds: Int32Array;
  /** Bytes from n's parent to the deepest token end in n's subtree (1 when n has no children). */
  readonly height: Uint16Array;
  /** Depth-first layout: n's subtree is nodes n .. subEnd[n]-1, so its tokens are one run of tokIds. */
  readonly subEnd: Int32Array;
  /** 1 when every byte below n (not n's own) is a text byte (absorb.ts): the mask fast path. */
  readonly pureText: Uint8Array;
  /** Tokens made only of text bytes, shortest first; textUpTo[h] of them are at most h bytes long. */
  readonly textIds: Int32Array;
  readonly textUpTo: Int32Array;
  /** The bitset of all of them (copied whole into the mask of a state that absorbs any text token, e.g. `char*`). */
  readonly textMask: Uint32Array;

  constructor(readonly tokens: readonly (Uint8Array | null | undefined)[], options: TokenVocabOptions = {}) {
    this.size = tokens.length;
    this.eog = [...(options.eogTokens ?? [])].filter((id) => id >= 0 && id < tokens.length);
    // Build with maps, then lay out depth-first.
    const kids: Map<number, number>[] = [new Map()];
    const ends: number[][] = [[]];
    tokens.forEach((bytes, id) => {
      if (!bytes || bytes.length === 0) return;
      let n = 0;
      for (const b of bytes) {
        let c = kids[n]!.get(b);
        if (c === undefined) {
          c = kids.length;
          kids.push(new Map());
          ends.push([]);
          kids[n]!.set(b, c);
        }
        n = c;
      }
      ends[n]!.push(id);
    });
    const count = kids.length;
    const order = new Int32Array(count); // old index -> new index
    const byNew: number[] = [];
    const todo = [0];
    while (todo.length) {
      const n = todo.pop()!;
      order[n] = byNew.length;
      byNew.push(n);
      const children = [...kids[n]!.entries()].sort((a, b) => b[0] - a[0]);
      for (const [, c] of children) todo.push(c);
    }
    this.childStart = new Int32Array(count + 1);
    this.childByte = new Uint8Array(count - 1);
    this.childNode = new Int32Array(count - 1);
    this.tokStart = new Int32Array(count + 1);
    const tokIds: number[] = [];
    let e = 0;
    byNew.forEach((old, n) => {
      this.childStart[n] = e;
      this.tokStart[n] = tokIds.length;
      tokIds.push(...ends[old]!);
      for (const [b, c] of [...kids[old]!.entries()].sort((x, y) => x[0] - y[0])) {
        this.childByte[e] = b;
        this.childNode[e++] = order[c]!;
      }
    });
    this.childStart[count] = e;
    this.tokStart[count] = tokIds.length;
    this.tokIds = Int32Array.from(tokIds);
    // Children come after their parent in depth-first order, so one backward pass sees every child first.
    this.height = new Uint16Array(count);
    this.subEnd = new Int32Array(count);
    this.pureText = new Uint8Array(count);
    for (let n = count - 1; n >= 0; n--) {
      let h = 0;
      let pure = 1;
      let end = n + 1;
      for (let i = this.childStart[n]!; i < this.childStart[n + 1]!; i++) {
        const c = this.childNode[i]!;
        h = Math.max(h, this.height[c]!);
        if (!this.pureText[c] || !isTextByte(this.childByte[i]!)) pure = 0;
        end = Math.max(end, this.subEnd[c]!);
      }
      this.height[n] = Math.min(ABSORB_CAP, h + 1);
      this.subEnd[n] = end;
      this.pureText[n] = pure;
    }
    const text = tokens.flatMap((b, id) => (b && b.length > 0 && b.every(isTextByte) ? [id] : []));
    const len = (id: number) => tokens[id]!.length;
    text.sort((a, b) => len(a) - len(b) || a - b);
    this.textIds = Int32Array.from(text);
    const maxText = text.length ? len(text[text.length - 1]!) : 0;
    this.textUpTo = new Int32Array(maxText + 1);
    for (let h = 0, i = 0; h <= maxText; h++) {
      while (i < text.length && len(text[i]!) <= h) i++;
      this.textUpTo[h] = i;
    }
    this.textMask = new Uint32Array(this.maskWords);
    for (const id of text) this.textMask[id >>> 5]! |= 1 << (id & 31);
  }

  /** Words in a mask bitset. */
  get maskWords(): number {
    return (this.size + 31) >>> 5;
  }

  /** The allowed-token bitset for `state`: a token is allowed iff all its bytes step the state without dying. */
  computeMask(engine: GrammarEngine, state: GState): Uint32Array {
    const mask = new Uint32Array(this.maskWords);
    const { childStart, childByte, childNode, tokStart, tokIds, height, subEnd, pureText, textIds, textUpTo } = this;
    const set = (from: number, to: number): void => {
      for (let t = from; t < to; t++) {
        const id = tokIds[t]!;
        mask[id >>> 5]! |= 1 << (id & 31);
      }
    };
    // Text tokens no longer than what the state surely absorbs are allowed without looking at the trie (in a JSON
    // string that is most of the vocabulary): all of them by one copy, or the shortest ones by length class.
    const maxText = textUpTo.length - 1;
    const rootAbsorb = maxText > 0 ? textAbsorb(engine, state) : 0;
    const covered = Math.min(rootAbsorb, maxText);
    if (covered === maxText) mask.set(this.textMask);
    else for (let i = 0, e = textUpTo[covered]!; i < e; i++) mask[textIds[i]! >>> 5]! |= 1 << (textIds[i]! & 31);
    // Depth-first over the trie; a dead byte prunes the whole subtree below it. A subtree of text bytes no deeper than
    // the state's text absorption is allowed whole (one run of tokIds, no stepping), or skipped when covered above.
    const walk = (node: number, st: GState, depth: number, textPath: boolean): void => {
      const end = childStart[node + 1]!;
      let absorb = -1;
      for (let i = childStart[node]!; i < end; i++) {
        const b = childByte[i]!;
        const c = childNode[i]!;
        if (pureText[c] === 1 && isTextByte(b)) {
          if (textPath && depth + height[c]! <= covered) continue;
          if (absorb < 0) absorb = textAbsorb(engine, st);
          if (height[c]! <= absorb) {
            set(tokStart[c]!, tokStart[subEnd[c]!]!);
            continue;
          }
        }
        let next = st.trans === undefined ? undefined : st.trans[b];
        if (next === undefined) next = engine.step(st, b);
        if (next === null) continue;
        set(tokStart[c]!, tokStart[c + 1]!);
        if (childStart[c]! < childStart[c + 1]!) walk(c, next, depth + 1, textPath && isTextByte(b));
      }
    };
    walk(0, state, 0, true);
    if (state.complete) for (const id of this.eog) mask[id >>> 5]! |= 1 << (id & 31);
    return mask;
  }
}

/** Whether token `id` is set in a mask bitset. */
export const maskHas = (mask: Uint32Array, id: number): boolean => ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;

/** The token ids set in a mask bitset, ascending. */
export function maskIds(mask: Uint32Array): number[] {
  const out: number[] = [];
  for (let w = 0; w < mask.length; w++) {
    let bits = mask[w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      out.push(w * 32 + 31 - Math.clz32(low));
      bits ^= low;
    }
  }
  return out;
}
