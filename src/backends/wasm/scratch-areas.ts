// The WASM backend's kernel scratch areas in linear memory: one per slot, grown on demand and reused across calls.
import type { LinearMemory } from "./linear-memory";

/** Kernel scratch areas, each grown on demand and reused across calls. */
export type ScratchSlot = "actQ" | "actK" | "actF" | "scores" | "tokens" | "rope" | "kvK" | "kvQ" | "decodeX";

export class ScratchAreas {
  private readonly slots = new Map<ScratchSlot, { ptr: number; bytes: number }>();

  constructor(private readonly mem: LinearMemory) {}

  /**
   * A scratch area of at least `bytes`, reallocated when a call needs more than before: to exactly that size, not a
   * doubling, so each slot holds what its largest call needed (a bound the model host counts before a pass runs).
   */
  area(slot: ScratchSlot, bytes: number): number {
    const cur = this.slots.get(slot);
    if (cur && cur.bytes >= bytes) return cur.ptr;
    if (cur) this.mem.release(cur.ptr, cur.bytes);
    const ptr = this.mem.alloc(bytes);
    this.slots.set(slot, { ptr, bytes });
    return ptr;
  }

  /** Bytes held by every slot together. */
  get bytes(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.bytes;
    return n;
  }
}
