// A simple allocator over the kernel module's linear memory: bump allocation, exact-size free lists, memory.grow.

const PAGE = 65536;
/** Every block starts on a 64-byte boundary: aligned v128 loads and no false sharing of cache lines between buffers. */
const ALIGN = 64;

export class LinearMemory {
  private top: number;
  /** Freed blocks by rounded size: the engine's buffers come in a handful of sizes, so exact reuse is enough. */
  private readonly free = new Map<number, number[]>();
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

  /** Returns the byte offset of `bytes` fresh (not necessarily zeroed) bytes. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) return reused;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the current size, so many small allocations don't grow page by page.
      const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
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
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
  }

  /** Total linear memory (the process-visible footprint of this backend). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
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
