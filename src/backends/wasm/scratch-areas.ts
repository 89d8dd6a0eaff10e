// The WASM backend's kernel scratch areas in linear memory: one per slot, grown on demand and reused across calls.
import type { LinearMemory } from "./linear-memory";

/** Kernel scratch areas, each grown on demand and reused across calls. */
export type ScratchSlot = "actQ" | "actK" | "actF" | "scores" | "tokens" | "rope" | "kvK" | "kvQ" | "decodeX";

/** A slot's area: its address and size (bytes -1: none held). */
interface Area {
  ptr: number;
  bytes: number;
}

const none = (): Area => ({ ptr: 0, bytes: -1 });

export class ScratchAreas {
  /** One field per slot, made up front: a call's slot name is a constant, so the lookup is a plain field load, no Map hashing. */
  private readonly slots: Readonly<Record<ScratchSlot, Area>> = {
    actQ: none(), actK: none(), actF: none(), scores: none(), tokens: none(), rope: none(), kvK: none(), kvQ: none(), decodeX: none(),
  };

  constructor(private readonly mem: LinearMemory) {}

  /**
   * A scratch area of at least `bytes`, reallocated when a call needs more than before: to exactly that size, not a
   * doubling, so each slot holds what its largest call needed (a bound the model host counts before a pass runs).
   */
  area(slot: ScratchSlot, bytes: number): number {
    const cur = this.slots[slot];
    if (cur.bytes >= bytes) return cur.ptr;
    if (cur.bytes >= 0) this.mem.release(cur.ptr, cur.bytes);
    cur.bytes = -1; // until the new area is allocated
    cur.ptr = this.mem.alloc(bytes);
    cur.bytes = bytes;
    return cur.ptr;
  }

  /** Bytes held by every slot together. */
  get bytes(): number {
    let n = 0;
    for (const s of Object.values(this.slots)) n += Math.max(0, s.bytes);
    return n;
  }
}
