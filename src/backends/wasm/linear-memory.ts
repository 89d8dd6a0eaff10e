// The allocator over the kernel module's linear memory: best fit over a coalescing free list, bump at the top, memory.grow.

const PAGE = 65536;
/** Every block starts on a 64-byte boundary: aligned v128 loads and no false sharing of cache lines between buffers. */
const ALIGN = 64;

interface FreeBlock {
  ptr: number;
  size: number;
}

/** What a repack function uses: allocations and views (LinearMemory, or a row chunk's window into a matrix: matrix-sink.ts). */
export type PackMemory = Pick<LinearMemory, "alloc" | "u8" | "f32">;

export class LinearMemory {
  private top: number;
  /**
   * Freed blocks, sorted by address, adjacent ones merged; a freed block that ends at `top` lowers `top` instead.
   * Any size can reuse freed space (a 512-token KV cache freed makes room for two 256-token ones), so linear memory,
   * which never shrinks, stays close to the high-water mark of live allocations that the memory budget counts.
   */
  private readonly free: FreeBlock[] = [];
  private buffer: ArrayBuffer;
  private f32View: Float32Array;
  private u8View: Uint8Array;
  private i32View: Int32Array;

  constructor(
    private readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    this.top = align(heapBase);
    this.buffer = memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
  }

  /** Returns the byte offset of `bytes` fresh (not necessarily zeroed) bytes: the smallest free block that fits, else the top. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size && (best < 0 || b.size < this.free[best]!.size)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best]!;
      const ptr = b.ptr;
      if (b.size === size) this.free.splice(best, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
      return ptr;
    }
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Exactly the pages needed: what linear memory reserves is what the memory budget sees (it never shrinks).
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`wasm backend: cannot grow linear memory to ${end} bytes`);
      }
    }
    this.top = end;
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const size = align(Math.max(bytes, 1));
    let i = 0;
    while (i < this.free.length && this.free[i]!.ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // Merge with the next block, then with the previous one.
    const next = this.free[i + 1];
    if (next && ptr + size === next.ptr) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  /** Total linear memory (the process-visible footprint of this backend; it never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes inside linear memory that allocations can use without growing it (free blocks and the space past the top). */
  get freeBytes(): number {
    let n = this.memory.buffer.byteLength - this.top;
    for (const b of this.free) n += b.size;
    return n;
  }

  /** Views are recreated after memory.grow, which detaches the old ArrayBuffer. */
  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.f32View = new Float32Array(this.buffer);
      this.u8View = new Uint8Array(this.buffer);
      this.i32View = new Int32Array(this.buffer);
    }
  }
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }
  get u8(): Uint8Array {
    this.refresh();
    return this.u8View;
  }
  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
