// A vocabulary's piece texts packed into typed arrays, with an open-addressing hash for text -> id (no per-token strings).
//
// A vocabulary of 50k pieces held as a string[] plus a Map<string, number> costs several MB of JS heap (V8 strings,
// often two-byte ones for "Ġthe" / "▁the", and the Map's entries). Here every piece's UTF-16 code units live in one
// array: one byte per unit when the vocabulary uses at most 256 distinct units (byte-level BPE always does; the
// units are indexes into `alphabet`), else two; `offsets` delimits pieces; `slots` maps a hash of the text to ids.

/** Text -> id lookups (what a Map<string, number> of the pieces offered). */
export interface TokenLookup {
  /** The id of the piece with this text; for duplicated pieces the last id, as llama.cpp. */
  get(text: string): number | undefined;
  has(text: string): boolean;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Pieces longer than this are turned into a string in chunks (String.fromCharCode's argument count is limited). */
const CHUNK = 4096;

/** Reused by text() to turn alphabet indexes back into code units. */
const scratch = new Uint16Array(CHUNK);

export class TokenTexts implements TokenLookup, Iterable<string> {
  /** Piece i is units[offsets[i] .. offsets[i+1]). */
  private readonly offsets: Uint32Array;
  /** Code units, or (when `alphabet` is set) indexes into it. */
  private readonly units: Uint8Array | Uint16Array;
  private readonly alphabet: Uint16Array | undefined;
  /** Open-addressing table (double hashing) of ids; `empty` marks a free slot. */
  private readonly slots: Uint16Array | Uint32Array;
  private readonly empty: number;
  private readonly mask: number;

  /** Packs `n` texts given by `textOf` (called twice per id; must give the same string both times). */
  constructor(n: number, textOf: (id: number) => string) {
    const seen = new Uint8Array(0x10000);
    let total = 0;
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      const t = textOf(i);
      total += t.length;
      for (let j = 0; j < t.length; j++) {
        const c = t.charCodeAt(j);
        if (seen[c] === 0) {
          seen[c] = 1;
          distinct++;
        }
      }
    }
    this.offsets = new Uint32Array(n + 1);
    let code: Uint8Array | undefined;
    if (distinct <= 256) {
      this.alphabet = new Uint16Array(distinct);
      code = seen; // reused: code unit -> alphabet index
      for (let c = 0, k = 0; c < 0x10000; c++) if (seen[c]) (this.alphabet[k] = c), (code[c] = k++);
      this.units = new Uint8Array(total);
    } else {
      this.alphabet = undefined;
      this.units = new Uint16Array(total);
    }
    let at = 0;
    for (let i = 0; i < n; i++) {
      const t = textOf(i);
      for (let j = 0; j < t.length; j++) this.units[at++] = code ? code[t.charCodeAt(j)]! : t.charCodeAt(j);
      this.offsets[i + 1] = at;
    }
    // Load factor at most 4/5 (double hashing keeps misses to a few probes); ids fit 16 bits (0xFFFF free) for
    // vocabularies under 65,535 pieces.
    let size = 16;
    while (size * 4 < n * 5) size *= 2;
    this.slots = n < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
    this.empty = n < 0xffff ? 0xffff : 0xffffffff;
    this.slots.fill(this.empty);
    this.mask = size - 1;
    for (let i = 0; i < n; i++) this.insert(i);
  }

  /** Number of pieces. */
  get length(): number {
    return this.offsets.length - 1;
  }

  /** Bytes held: the typed arrays (the object itself is a few dozen bytes more). */
  get byteLength(): number {
    return this.offsets.byteLength + this.units.byteLength + this.slots.byteLength + (this.alphabet?.byteLength ?? 0);
  }

  /** The text of piece `id` (a valid id). */
  text(id: number): string {
    const a = this.offsets[id]!;
    const b = this.offsets[id + 1]!;
    let s = "";
    for (let from = a; from < b; from += CHUNK) {
      const to = Math.min(b, from + CHUNK);
      let codes: Uint8Array | Uint16Array = this.units.subarray(from, to);
      if (this.alphabet) {
        codes = scratch.subarray(0, to - from);
        for (let j = from; j < to; j++) codes[j - from] = this.alphabet[this.units[j]!]!;
      }
      s += String.fromCharCode.apply(null, codes as unknown as number[]);
    }
    return s;
  }

  /**
   * Writes the code units of piece `id` into `into` (from index 0) and returns how many; when `into` is too short
   * nothing is written and the length needed is returned negated.
   */
  copyUnits(id: number, into: Uint16Array): number {
    const a = this.offsets[id]!;
    const n = this.offsets[id + 1]! - a;
    if (n > into.length) return -n;
    const alphabet = this.alphabet;
    const units = this.units;
    if (alphabet) for (let k = 0; k < n; k++) into[k] = alphabet[units[a + k]!]!;
    else into.set(units.subarray(a, a + n));
    return n;
  }

  /** Length in UTF-16 code units of piece `id`. */
  textLength(id: number): number {
    return this.offsets[id + 1]! - this.offsets[id]!;
  }

  get(text: string): number | undefined {
    const id = this.find(text, 0, text.length);
    return id < 0 ? undefined : id;
  }

  has(text: string): boolean {
    return this.find(text, 0, text.length) >= 0;
  }

  /** The id of the piece equal to text[start, end) (the last one for duplicates), -1 if none. No string is made. */
  find(text: string, start: number, end: number): number {
    let h = FNV_OFFSET;
    for (let j = start; j < end; j++) h = Math.imul(h ^ text.charCodeAt(j), FNV_PRIME);
    const len = end - start;
    for (let slot = h & this.mask, step = this.step(h); ; slot = (slot + step) & this.mask) {
      const id = this.slots[slot]!;
      if (id === this.empty) return -1;
      const a = this.offsets[id]!;
      if (this.offsets[id + 1]! - a !== len) continue;
      let j = 0;
      while (j < len && this.unit(a + j) === text.charCodeAt(start + j)) j++;
      if (j === len) return id;
    }
  }

  /** The id of the piece whose text is piece `left`'s then piece `right`'s, -1 if none. No string is made. */
  findConcat(left: number, right: number): number {
    const la = this.offsets[left]!;
    const lb = this.offsets[left + 1]!;
    const ra = this.offsets[right]!;
    const rb = this.offsets[right + 1]!;
    let h = FNV_OFFSET;
    for (let j = la; j < lb; j++) h = Math.imul(h ^ this.unit(j), FNV_PRIME);
    for (let j = ra; j < rb; j++) h = Math.imul(h ^ this.unit(j), FNV_PRIME);
    const ll = lb - la;
    const len = ll + (rb - ra);
    for (let slot = h & this.mask, step = this.step(h); ; slot = (slot + step) & this.mask) {
      const id = this.slots[slot]!;
      if (id === this.empty) return -1;
      const a = this.offsets[id]!;
      if (this.offsets[id + 1]! - a !== len) continue;
      let j = 0;
      while (j < ll && this.units[a + j] === this.units[la + j]) j++;
      if (j < ll) continue;
      while (j < len && this.units[a + j] === this.units[ra + j - ll]) j++;
      if (j === len) return id;
    }
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.length; i++) yield this.text(i);
  }

  /** Code unit at position j of `units`. */
  private unit(j: number): number {
    return this.alphabet ? this.alphabet[this.units[j]!]! : this.units[j]!;
  }

  /** Probe step for hash h: odd, so with a power-of-two table every slot is visited. */
  private step(h: number): number {
    return ((h >>> 16) | 1) & this.mask;
  }

  /** Adds piece `id`; an equal piece already there is replaced (the last duplicate wins, as llama.cpp's map). */
  private insert(id: number): void {
    const a = this.offsets[id]!;
    const b = this.offsets[id + 1]!;
    let h = FNV_OFFSET;
    for (let j = a; j < b; j++) h = Math.imul(h ^ this.unit(j), FNV_PRIME);
    for (let slot = h & this.mask, step = this.step(h); ; slot = (slot + step) & this.mask) {
      const other = this.slots[slot]!;
      if (other === this.empty || this.sameText(other, id)) {
        this.slots[slot] = id;
        return;
      }
    }
  }

  private sameText(x: number, y: number): boolean {
    const a = this.offsets[x]!;
    const len = this.offsets[x + 1]! - a;
    const b = this.offsets[y]!;
    if (this.offsets[y + 1]! - b !== len) return false;
    for (let j = 0; j < len; j++) if (this.units[a + j] !== this.units[b + j]) return false;
    return true;
  }
}
