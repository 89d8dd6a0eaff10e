// Typed metadata getters: each names the key when it is missing or of the wrong type.
import { GgufError } from "./errors";
import type { GgufFile } from "./reader";
import { GgufValueType, type GgufArray } from "./types";

function get(file: GgufFile, key: string, optional: boolean) {
  const v = file.metadata.get(key);
  if (v === undefined && !optional) throw new GgufError(`missing metadata key ${key}`);
  return v;
}

const typeName = (t: GgufValueType) => GgufValueType[t] ?? `type ${t}`;

export function metaOptString(file: GgufFile, key: string): string | undefined {
  const v = get(file, key, true);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.STRING) throw new GgufError(`metadata ${key} must be a string, found ${typeName(v.type)}`);
  return v.value;
}

export function metaString(file: GgufFile, key: string): string {
  get(file, key, false);
  return metaOptString(file, key)!;
}

export function metaOptNumber(file: GgufFile, key: string): number | undefined {
  const v = get(file, key, true);
  if (v === undefined) return undefined;
  if (v.type === GgufValueType.UINT64 || v.type === GgufValueType.INT64) {
    const n = Number(v.value);
    if (!Number.isSafeInteger(n)) throw new GgufError(`metadata ${key} = ${v.value} is too large`);
    return n;
  }
  if (typeof v.value !== "number") throw new GgufError(`metadata ${key} must be a number, found ${typeName(v.type)}`);
  return v.value;
}

export function metaNumber(file: GgufFile, key: string): number {
  get(file, key, false);
  return metaOptNumber(file, key)!;
}

export function metaOptBool(file: GgufFile, key: string): boolean | undefined {
  const v = get(file, key, true);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.BOOL) throw new GgufError(`metadata ${key} must be a bool, found ${typeName(v.type)}`);
  return v.value;
}

export function metaOptArray(file: GgufFile, key: string): GgufArray | undefined {
  const v = get(file, key, true);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.ARRAY) throw new GgufError(`metadata ${key} must be an array, found ${typeName(v.type)}`);
  return v.value;
}

export function metaArray(file: GgufFile, key: string): GgufArray {
  get(file, key, false);
  return metaOptArray(file, key)!;
}
