// ScratchAreas (src/backends/wasm/scratch-areas.ts): slots reused while they fit, regrown to the exact size, counted,
// and a regrow that cannot be allocated leaves the slot empty (its old area released once, never handed out again).
import { describe, expect, it } from "vitest";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { ScratchAreas } from "../../src/backends/wasm/scratch-areas";

const PAGE = 65536;

function areas(maxPages = 4) {
  const mem = new LinearMemory(new WebAssembly.Memory({ initial: 1, maximum: maxPages }), 1024);
  return { mem, scratch: new ScratchAreas(mem) };
}

describe("ScratchAreas", () => {
  it("reuses a slot's area while it fits, regrows it to the exact size, and counts every slot", () => {
    const { scratch } = areas();
    expect(scratch.bytes).toBe(0);
    const a = scratch.area("actQ", 100);
    expect(scratch.area("actQ", 100)).toBe(a);
    expect(scratch.area("actQ", 40)).toBe(a);
    const d = scratch.area("decodeX", 64);
    expect(d).not.toBe(a);
    expect(scratch.bytes).toBe(164);
    scratch.area("actQ", 300);
    expect(scratch.bytes).toBe(364);
  });

  it("a zero-byte area is held and reused", () => {
    const { scratch } = areas();
    const z = scratch.area("tokens", 0);
    expect(scratch.area("tokens", 0)).toBe(z);
    expect(scratch.bytes).toBe(0);
  });

  it("a regrow past the memory's maximum throws and leaves the slot empty, so the next call allocates afresh", () => {
    const { mem, scratch } = areas(2);
    scratch.area("scores", 1000);
    expect(() => scratch.area("scores", 4 * PAGE)).toThrow(RangeError);
    expect(scratch.bytes).toBe(0);
    const again = scratch.area("scores", 500);
    // The released area is free again: a fresh allocation of its size reuses it, and the slot's does not overlap it.
    const other = mem.alloc(500);
    expect(other === again).toBe(false);
    expect(scratch.bytes).toBe(500);
  });
});
