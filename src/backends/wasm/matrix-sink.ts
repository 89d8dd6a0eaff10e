// A wasm matrix filled chunk by chunk (ranged loading): each chunk of file rows is repacked straight into its place in the whole matrix.
import type { PackMemory, LinearMemory } from "./linear-memory";
import type { WasmFormat } from "./formats";
import type { PackedMatrix } from "./repack";

/** Rows are packed in panels of four: a chunk starts on a panel, and only the last one may end inside one. */
export const ROW_GROUP = 4;

interface Region {
  readonly start: number;
  /** Bytes of this region per panel of four rows. */
  readonly perPanel: number;
}

/**
 * The whole matrix is allocated once (format.packedBytes); each chunk runs the format's own pack function through a
 * window whose allocations land at the chunk's panels inside the matrix's regions (data, then scales where the format
 * has them: every region is linear in panels of four rows). The regions' sizes per panel are learned from the first
 * chunk's allocations, so the repack code is the same as for a whole tensor and no whole-tensor copy is ever made.
 */
export class MatrixChunks {
  private next = 0;
  private regions: Region[] | null = null;
  private readonly base: number;
  readonly totalBytes: number;
  private readonly rowBytes: number;

  constructor(
    private readonly mem: LinearMemory,
    private readonly format: WasmFormat,
    private readonly rows: number,
    private readonly cols: number,
    private readonly relaxed: boolean,
  ) {
    this.totalBytes = format.packedBytes(rows, cols);
    this.rowBytes = (cols / format.blockElems) * format.blockBytes;
    this.base = mem.alloc(this.totalBytes);
  }

  /** Repacks whole file rows row0.. (`bytes`); chunks come in order, each starting on a panel of four rows. */
  write(row0: number, bytes: Uint8Array): void {
    if (row0 !== this.next) throw new RangeError(`rows must arrive in order: got row ${row0}, expected ${this.next}`);
    const n = bytes.byteLength / this.rowBytes;
    if (!Number.isInteger(n) || n < 1 || row0 + n > this.rows) throw new RangeError(`a chunk of ${bytes.byteLength} bytes at row ${row0} is not whole rows of ${this.rowBytes} bytes inside ${this.rows} rows`);
    if (n % ROW_GROUP !== 0 && row0 + n !== this.rows) throw new RangeError(`only the last chunk may end inside a panel of ${ROW_GROUP} rows (${n} rows at ${row0})`);
    const panels = Math.ceil(n / ROW_GROUP);
    const p0 = row0 / ROW_GROUP;
    const allPanels = Math.ceil(this.rows / ROW_GROUP);
    const learn = this.regions === null;
    const regions = (this.regions ??= []);
    const end = this.base + this.totalBytes;
    const mem = this.mem;
    let k = 0;
    const window: PackMemory = {
      alloc: (size: number) => {
        let region = regions[k];
        if (!region) {
          if (!learn) throw new RangeError(`chunk at row ${row0} allocated more regions than the first chunk`);
          const prev = regions[k - 1];
          region = { start: prev ? prev.start + prev.perPanel * allPanels : this.base, perPanel: size / panels };
          regions.push(region);
        }
        k++;
        const ptr = region.start + p0 * region.perPanel;
        if (ptr + size > end) throw new RangeError(`chunk at row ${row0} overruns the matrix's ${this.totalBytes} bytes`);
        return ptr;
      },
      get u8() {
        return mem.u8;
      },
      get f32() {
        return mem.f32;
      },
    };
    this.format.pack(window, n, this.cols, bytes, this.relaxed);
    this.next = row0 + n;
  }

  /** The packed matrix, once every row arrived. */
  finish(): PackedMatrix {
    if (this.next !== this.rows || !this.regions) throw new RangeError(`${this.next} of ${this.rows} rows were written`);
    const scales = this.regions[1]?.start ?? 0;
    const dataBytes = scales ? scales - this.base : this.totalBytes;
    return { data: this.base, scales, dataBytes, scalesBytes: this.totalBytes - dataBytes };
  }

  /** Gives the allocation back (a load that failed midway). */
  abandon(): void {
    this.mem.release(this.base, this.totalBytes);
  }
}
