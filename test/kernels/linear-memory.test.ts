// The wasm allocator: freed space is reused by any size (coalesced, best fit), so linear memory tracks live allocations.
import { describe, expect, it } from "vitest";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { seededRandom } from "./expected";

const MiB = 1 << 20;
const fresh = () => new LinearMemory(new WebAssembly.Memory({ initial: 1, maximum: 65536 }), 1024);

describe("LinearMemory", () => {
  it("fits a smaller block into a larger freed one without growing (a 256-token cache after a 512-token one)", () => {
    const mem = fresh();
    const weights = mem.alloc(40 * MiB);
    const big = mem.alloc(24 * MiB);
    const after = mem.byteLength;
    mem.release(big, 24 * MiB);
    const a = mem.alloc(12 * MiB);
    const b = mem.alloc(12 * MiB);
    expect(mem.byteLength).toBe(after);
    expect(new Set([weights, a, b]).size).toBe(3);
  });

  it("merges neighbours and lowers the top, so a larger block reuses freed space below it", () => {
    const mem = fresh();
    mem.alloc(8 * MiB);
    const x = mem.alloc(4 * MiB);
    const y = mem.alloc(4 * MiB);
    const grown = mem.byteLength;
    mem.release(x, 4 * MiB);
    mem.release(y, 4 * MiB);
    expect(mem.alloc(8 * MiB)).toBe(x);
    expect(mem.byteLength).toBe(grown);
  });

  it("grows by the pages needed, not by a fraction of its size", () => {
    const mem = fresh();
    mem.alloc(100 * MiB);
    const before = mem.byteLength;
    mem.alloc(64);
    expect(mem.byteLength - before).toBeLessThanOrEqual(65536);
    mem.alloc(5 * MiB);
    expect(mem.byteLength - before).toBeLessThanOrEqual(5 * MiB + 2 * 65536);
  });

  it("never hands out overlapping blocks, and its high-water mark stays near the live peak (random churn)", () => {
    const mem = fresh();
    const rand = seededRandom(77);
    const live = new Map<number, number>();
    let liveBytes = 0;
    let peak = 0;
    for (let step = 0; step < 3000; step++) {
      if (live.size > 0 && rand() < 0.45) {
        const keys = [...live.keys()];
        const ptr = keys[Math.floor(rand() * keys.length)]!;
        const size = live.get(ptr)!;
        live.delete(ptr);
        liveBytes -= size;
        mem.release(ptr, size);
      } else {
        const size = 64 * (1 + Math.floor(rand() * 4096));
        const ptr = mem.alloc(size);
        for (const [p, s] of live) expect(ptr + size <= p || p + s <= ptr).toBe(true);
        live.set(ptr, size);
        liveBytes += size;
        peak = Math.max(peak, liveBytes);
      }
    }
    // Fragmentation costs something, but far from the old exact-size lists' unbounded growth.
    expect(mem.byteLength).toBeLessThan(2 * peak + 2 * MiB);
    for (const [p, s] of live) mem.release(p, s);
    expect(mem.freeBytes).toBe(mem.byteLength - 1024);
  });
});
