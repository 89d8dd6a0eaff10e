// GGUF data model shared by the reader and the writer: value types, typed metadata values, tensor infos.

/** Metadata value types, numbered as in the GGUF spec (`gguf_type`). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/**
 * A metadata value together with its stored type, so that writing it back gives the same bytes.
 * 64-bit integers are bigints; other numbers are JS numbers. Arrays keep their element type;
 * an array of arrays holds GgufArray items.
 */
export type GgufValue =
  | { readonly type: GgufValueType.UINT8 | GgufValueType.INT8 | GgufValueType.UINT16 | GgufValueType.INT16 | GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32 | GgufValueType.FLOAT64; readonly value: number }
  | { readonly type: GgufValueType.UINT64 | GgufValueType.INT64; readonly value: bigint }
  | { readonly type: GgufValueType.BOOL; readonly value: boolean }
  | { readonly type: GgufValueType.STRING; readonly value: string }
  | { readonly type: GgufValueType.ARRAY; readonly value: GgufArray };

/** A homogeneous array. `items` are plain JS values of `elementType` (nested arrays: GgufArray). */
export interface GgufArray {
  readonly elementType: GgufValueType;
  readonly items: ReadonlyArray<number | bigint | boolean | string | GgufArray>;
}

/** One tensor's entry in the tensor-info table. `dims` is GGUF `ne`: dims[0] is the contiguous (row) length. */
export interface GgufTensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset of the tensor's data relative to the start of the data section. */
  readonly offset: number;
  /** Total elements (product of dims). */
  readonly nElements: number;
  /** Bytes of data the tensor occupies (from its type's block geometry). */
  readonly nBytes: number;
}
