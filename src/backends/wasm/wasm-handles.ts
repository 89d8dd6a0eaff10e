// The wasm backend's handles: buffers, vectors, matrices and KV caches as addresses in the kernels' linear memory.
import type { Buffer, KvCache, KvLayout, Matrix, Vector } from "../backend";
import { kvRowBytes, kvTypeOf, type KvType } from "../kv-format";
import type { ActivationKind, WasmFormat } from "./formats";
import type { PackedMatrix } from "./repack";

export class WasmBuffer implements Buffer {
  released = false;
  constructor(readonly owner: object, readonly ptr: number, readonly length: number) {}
}

export class WasmVector implements Vector {
  constructor(readonly owner: object, readonly name: string, readonly ptr: number, readonly length: number) {}
}

/**
 * A packed matrix, its own PackedMatrix: a matmul reads the addresses, the activation kind and the format's kernels
 * from this one object. After each kernel has streamed its weights through the caches, every further object a call
 * reaches (the format row, a separate PackedMatrix) is another wait on memory.
 */
export class WasmMatrix implements Matrix, PackedMatrix {
  readonly data: number;
  readonly scales: number;
  readonly dataBytes: number;
  readonly scalesBytes: number;
  readonly activation: ActivationKind;
  readonly matmul: WasmFormat["matmul"];
  readonly decode: WasmFormat["decode"];
  constructor(
    readonly owner: object,
    readonly name: string,
    readonly format: WasmFormat,
    readonly rows: number,
    readonly cols: number,
    packed: PackedMatrix,
  ) {
    this.data = packed.data;
    this.scales = packed.scales;
    this.dataBytes = packed.dataBytes;
    this.scalesBytes = packed.scalesBytes;
    this.activation = format.activation;
    this.matmul = format.matmul;
    this.decode = format.decode;
  }
  get type(): number {
    return this.format.type;
  }
}

/** The kernels' code for a KV type (kv_encode / kv_decode); f32 needs no conversion. */
export const KV_CODE: Record<KvType, number> = { f32: 0, f16: 1, q8_0: 2 };

export class WasmKvCache implements KvCache {
  released = false;
  readonly kvDim: number;
  readonly type: KvType;
  /** Bytes of one position's row of one layer's K (or V), in the cache's type. */
  readonly rowBytes: number;
  /** Bytes of one layer's K (or V) plane: [nCtx] rows. */
  readonly planeBytes: number;
  constructor(readonly owner: object, readonly layout: KvLayout, readonly ptr: number) {
    this.kvDim = layout.nKvHeads * layout.headDim;
    this.type = kvTypeOf(layout);
    this.rowBytes = kvRowBytes(this.type, this.kvDim);
    this.planeBytes = layout.nCtx * this.rowBytes;
  }
  /** Total bytes of the cache: what createKvCache allocates. */
  static bytesFor(layout: KvLayout): number {
    return layout.nLayers * 2 * layout.nCtx * kvRowBytes(kvTypeOf(layout), layout.nKvHeads * layout.headDim);
  }
  get bytes(): number {
    return this.layout.nLayers * 2 * this.planeBytes;
  }
  k(layer: number): number {
    if (layer < 0 || layer >= this.layout.nLayers) throw new RangeError(`layer ${layer} outside 0..${this.layout.nLayers - 1}`);
    return this.ptr + layer * 2 * this.planeBytes;
  }
  v(layer: number): number {
    return this.k(layer) + this.planeBytes;
  }
}
