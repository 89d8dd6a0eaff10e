// Typed metadata getters: each names the key when it is missing (unless optional) or holds the wrong type.
import { GgufError, quoteName } from "./errors";
import type { GgufFile } from "./reader";
import { GgufValueType, type GgufArray, type GgufValue } from "./types";
import { valueTypeName } from "./values";

function lookup(file: GgufFile, key: string, optional: boolean): GgufValue | undefined {
  const v = file.metadata.get(key);
  if (v === undefined && !optional) throw new GgufError(`missing metadata key ${quoteName(key)}`);
  return v;
}

const wrongType = (key: string, want: string, v: GgufValue) =>
  new GgufError(`metadata ${quoteName(key)} must be ${want}, found ${valueTypeName(v.type)}`);

function str(file: GgufFile, key: string, optional: boolean): string | undefined {
  const v = lookup(file, key, optional);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.STRING) throw wrongType(key, "a string", v);
  return v.value;
}

/** Any numeric type; 64-bit integers are converted and must be safe integers. Bools are not numbers. */
function num(file: GgufFile, key: string, optional: boolean): number | undefined {
  const v = lookup(file, key, optional);
  if (v === undefined) return undefined;
  if (v.type === GgufValueType.UINT64 || v.type === GgufValueType.INT64) {
    const n = Number(v.value);
    if (!Number.isSafeInteger(n)) throw new GgufError(`metadata ${quoteName(key)} = ${v.value} is not a safe integer`);
    return n;
  }
  if (typeof v.value !== "number") throw wrongType(key, "a number", v);
  return v.value;
}

function bool(file: GgufFile, key: string, optional: boolean): boolean | undefined {
  const v = lookup(file, key, optional);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.BOOL) throw wrongType(key, "a bool", v);
  return v.value;
}

function arr(file: GgufFile, key: string, optional: boolean): GgufArray | undefined {
  const v = lookup(file, key, optional);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.ARRAY) throw wrongType(key, "an array", v);
  return v.value;
}

export const metaString = (file: GgufFile, key: string): string => str(file, key, false)!;
export const metaOptString = (file: GgufFile, key: string): string | undefined => str(file, key, true);
export const metaNumber = (file: GgufFile, key: string): number => num(file, key, false)!;
export const metaOptNumber = (file: GgufFile, key: string): number | undefined => num(file, key, true);
export const metaBool = (file: GgufFile, key: string): boolean => bool(file, key, false)!;
export const metaOptBool = (file: GgufFile, key: string): boolean | undefined => bool(file, key, true);
export const metaArray = (file: GgufFile, key: string): GgufArray => arr(file, key, false)!;
export const metaOptArray = (file: GgufFile, key: string): GgufArray | undefined => arr(file, key, true);
