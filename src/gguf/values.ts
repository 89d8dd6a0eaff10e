// Typed GGUF value constructors, and the range checks the writer applies so no value is silently wrapped or truncated.
import { GgufError, quoteName } from "./errors";
import { GgufValueType, type GgufArray, type GgufValue } from "./types";

type Item = GgufArray["items"][number];

/**
 * Metadata value constructors: `gguf.u32(5)`, `gguf.str("llama")`, `gguf.arr(GgufValueType.STRING, tokens)`.
 * f32 values are rounded to float32 here, so a written-then-read value compares equal to the one built.
 */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
  i8: (value: number): GgufValue => ({ type: GgufValueType.INT8, value }),
  u16: (value: number): GgufValue => ({ type: GgufValueType.UINT16, value }),
  i16: (value: number): GgufValue => ({ type: GgufValueType.INT16, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  u64: (value: bigint): GgufValue => ({ type: GgufValueType.UINT64, value }),
  i64: (value: bigint): GgufValue => ({ type: GgufValueType.INT64, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value: Math.fround(value) }),
  f64: (value: number): GgufValue => ({ type: GgufValueType.FLOAT64, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  /** A homogeneous array; FLOAT32 items are rounded to float32 (see above). Nested arrays: items are GgufArray. */
  arr: (elementType: GgufValueType, items: GgufArray["items"]): GgufValue => ({
    type: GgufValueType.ARRAY,
    value: { elementType, items: elementType === GgufValueType.FLOAT32 ? items.map((x) => Math.fround(x as number)) : items },
  }),
} as const;

const INT_RANGE: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIG_RANGE: Partial<Record<GgufValueType, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [GgufValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

/** Smallest encoding of one value of each type: fixed-size types exactly; STRING its length prefix; ARRAY its type + count. */
export const VALUE_MIN_BYTES: Record<GgufValueType, number> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
  [GgufValueType.STRING]: 8, [GgufValueType.ARRAY]: 12,
};

/** Name of a value type for messages ("UINT32", or "type 99"). */
export function valueTypeName(type: number): string {
  return GgufValueType[type] ?? `type ${type}`;
}

export function isValueType(type: unknown): type is GgufValueType {
  return typeof type === "number" && Number.isInteger(type) && type >= GgufValueType.UINT8 && type <= GgufValueType.FLOAT64;
}

function isGgufArray(v: unknown): v is GgufArray {
  return typeof v === "object" && v !== null && isValueType((v as GgufArray).elementType) && Array.isArray((v as GgufArray).items);
}

/**
 * Throws a GgufError naming `key` unless `v` can be stored exactly as `type` (integers in range, bigints for 64-bit
 * types, real booleans and strings, well-formed arrays). Nested arrays are checked when written, item by item.
 */
export function checkValue(type: GgufValueType, v: Item, key: string): void {
  const bad = (why: string) => new GgufError(`metadata ${quoteName(key)}: ${why}`);
  const int = INT_RANGE[type];
  if (int) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < int[0] || v > int[1]) {
      throw bad(`${String(v)} is not a ${valueTypeName(type)} (an integer in [${int[0]}, ${int[1]}])`);
    }
    return;
  }
  const big = BIG_RANGE[type];
  if (big) {
    if (typeof v !== "bigint" || v < big[0] || v > big[1]) throw bad(`${String(v)} is not a ${valueTypeName(type)} (a bigint in [${big[0]}, ${big[1]}])`);
    return;
  }
  switch (type) {
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof v !== "number") throw bad(`${String(v)} is not a number (${valueTypeName(type)})`);
      return;
    case GgufValueType.BOOL:
      if (typeof v !== "boolean") throw bad(`${String(v)} is not a boolean`);
      return;
    case GgufValueType.STRING:
      if (typeof v !== "string") throw bad(`${String(v)} is not a string`);
      return;
    case GgufValueType.ARRAY:
      if (!isGgufArray(v)) throw bad("an ARRAY value must be { elementType, items: [] } with a known element type");
      return;
    default:
      throw bad(`unknown value type ${valueTypeName(type)}`);
  }
}
