// What the BPE and SentencePiece merge loops share: a binary heap ordered by a `before` test, and the symbol list's unlink step.

/** Binary heap: pop() gives the item that comes `before` all others. */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  /** `before(a, b)`: a is to be popped ahead of b. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the first item; the heap must not be empty. */
  pop(): T {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const child = l + 1 < n && this.before(items[l + 1]!, items[l]!) ? l + 1 : l;
        if (!this.before(items[child]!, last)) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

/**
 * After `right` has been merged into `left` in a doubly linked symbol list: unlinks `right`, then offers the two new
 * neighbour pairs (before `left`, and `left` with what followed `right`) to `tryAdd`, which skips an index of -1.
 */
export function unlinkMerged(prev: Int32Array, next: Int32Array, left: number, right: number, tryAdd: (left: number, right: number) => void): void {
  const after = next[right]!;
  next[left] = after;
  if (after >= 0) prev[after] = left;
  tryAdd(prev[left]!, left);
  tryAdd(left, after);
}
