// GGUF field decoding for the reader: the caps on counts and lengths, and a Parser for counts, strings and (array) values.
import { ByteReader } from "./byte-reader";
import { GgufError } from "./errors";
import { GgufValueType, type GgufArray } from "./types";
import { VALUE_MIN_BYTES, valueTypeName } from "./values";

/** Caps on counts and lengths; exceeding one is an "absurd count" GgufError. Counts are also checked against the bytes left. */
export interface ReadGgufOptions {
  /** Elements in one metadata array (default 16 Mi; the largest real vocabularies are ~256 Ki). */
  maxArrayLength?: number;
  /** Tensor infos (default 64 Ki; real models have at most a few thousand). */
  maxTensors?: number;
  /** Metadata entries (default 64 Ki). */
  maxMetadataEntries?: number;
  /** Bytes in one string: key, value, array item or tensor name (default 16 MiB). */
  maxStringLength?: number;
}

const DEFAULTS: Required<ReadGgufOptions> = {
  maxArrayLength: 1 << 24,
  maxTensors: 1 << 16,
  maxMetadataEntries: 1 << 16,
  maxStringLength: 1 << 24,
};

const MAX_ARRAY_DEPTH = 8; // llama.cpp allows no nesting at all; a small bound keeps the recursion shallow

type Item = GgufArray["items"][number];
// ignoreBOM: a token that is exactly U+FEFF must survive (the default decoder strips a leading BOM).
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Reads GGUF fields at the cursor, checking every count and length against the caps and the bytes left. */
export class Parser {
  readonly r: ByteReader;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    fileSize: number,
    readonly opts: Required<ReadGgufOptions>,
  ) {
    this.r = new ByteReader(bytes, fileSize);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A u64 count; above `cap` it is an absurd count (checked before anything is allocated). */
  count(what: string, cap: number, option: keyof ReadGgufOptions): number {
    const at = this.r.offset;
    const v = this.r.u64(what);
    if (v > BigInt(cap)) throw new GgufError(`absurd count: ${what} is ${v}, above the limit of ${cap} (ReadGgufOptions.${option})`, at);
    return Number(v);
  }

  /** A u64 size or offset that must be exactly representable as a JS number. */
  safeU64(what: string): number {
    const at = this.r.offset;
    const v = this.r.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${what} is ${v}, too large`, at);
    return Number(v);
  }

  valueType(what: string): GgufValueType {
    const at = this.r.offset;
    const t = this.r.u32(`${what} type`);
    if (t > GgufValueType.FLOAT64) throw new GgufError(`${what}: unknown value type ${t}`, at);
    return t as GgufValueType;
  }

  /**
   * A GGUF string: u64 byte length (read as two u32 halves: no bigint per string, which matters for 32000-token
   * vocabularies), checked against the bytes left before anything is decoded. Invalid UTF-8 becomes U+FFFD.
   */
  string(what: string): string {
    const { view, bytes, r } = this;
    const at = r.offset;
    r.need(8, `${what} length`);
    const lo = view.getUint32(at, true);
    const hi = view.getUint32(at + 4, true);
    const start = at + 8;
    if (hi !== 0 || lo > r.fileSize - start) {
      throw new GgufError(`${what}: string length ${BigInt(hi) * 2n ** 32n + BigInt(lo)} runs past the end of the file`, at);
    }
    if (lo > this.opts.maxStringLength) {
      throw new GgufError(`absurd count: ${what} string length is ${lo}, above the limit of ${this.opts.maxStringLength} (ReadGgufOptions.maxStringLength)`, at);
    }
    r.offset = start;
    r.need(lo, what); // inside the file, but maybe past a header prefix
    r.offset = start + lo;
    return utf8.decode(bytes.subarray(start, start + lo));
  }

  scalar(type: GgufValueType, what: string, depth: number): Item {
    const r = this.r;
    switch (type) {
      case GgufValueType.UINT8: return r.u8(what);
      case GgufValueType.INT8: return r.i8(what);
      case GgufValueType.UINT16: return r.u16(what);
      case GgufValueType.INT16: return r.i16(what);
      case GgufValueType.UINT32: return r.u32(what);
      case GgufValueType.INT32: return r.i32(what);
      case GgufValueType.FLOAT32: return r.f32(what);
      case GgufValueType.FLOAT64: return r.f64(what);
      case GgufValueType.UINT64: return r.u64(what);
      case GgufValueType.INT64: return r.i64(what);
      case GgufValueType.BOOL: {
        const at = r.offset;
        const b = r.u8(what);
        if (b > 1) throw new GgufError(`${what}: invalid bool byte ${b} (must be 0 or 1)`, at);
        return b === 1;
      }
      case GgufValueType.STRING: return this.string(what);
      case GgufValueType.ARRAY: return this.array(what, depth + 1);
    }
  }

  array(what: string, depth: number): GgufArray {
    if (depth > MAX_ARRAY_DEPTH) throw new GgufError(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`, this.r.offset);
    const elementType = this.valueType(`${what} array element`);
    const at = this.r.offset;
    const n = this.count(`${what} array length`, this.opts.maxArrayLength, "maxArrayLength");
    const minBytes = n * VALUE_MIN_BYTES[elementType];
    if (minBytes > this.r.remaining) {
      throw new GgufError(`absurd count: ${what} array of ${n} ${valueTypeName(elementType)} needs at least ${minBytes} bytes but only ${this.r.remaining} remain`, at);
    }
    const items: Item[] = new Array<Item>(n);
    if (elementType === GgufValueType.STRING) this.stringItems(items, what);
    else if (elementType === GgufValueType.ARRAY || elementType === GgufValueType.BOOL) {
      for (let i = 0; i < n; i++) items[i] = this.scalar(elementType, what, depth);
    } else {
      this.r.need(minBytes, `${what} array`); // the exact size here; a header prefix may end before it
      this.numberItems(items, elementType);
    }
    return { elementType, items };
  }

  /** Fixed-size numeric items in one tight loop: the count was checked against the bytes left, so no per-item bounds. */
  private numberItems(items: Item[], type: GgufValueType): void {
    const v = this.view;
    const n = items.length;
    let o = this.r.offset;
    switch (type) {
      case GgufValueType.UINT8: for (let i = 0; i < n; i++, o += 1) items[i] = v.getUint8(o); break;
      case GgufValueType.INT8: for (let i = 0; i < n; i++, o += 1) items[i] = v.getInt8(o); break;
      case GgufValueType.UINT16: for (let i = 0; i < n; i++, o += 2) items[i] = v.getUint16(o, true); break;
      case GgufValueType.INT16: for (let i = 0; i < n; i++, o += 2) items[i] = v.getInt16(o, true); break;
      case GgufValueType.UINT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getUint32(o, true); break;
      case GgufValueType.INT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getInt32(o, true); break;
      case GgufValueType.FLOAT32: for (let i = 0; i < n; i++, o += 4) items[i] = v.getFloat32(o, true); break;
      case GgufValueType.FLOAT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getFloat64(o, true); break;
      case GgufValueType.UINT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getBigUint64(o, true); break;
      case GgufValueType.INT64: for (let i = 0; i < n; i++, o += 8) items[i] = v.getBigInt64(o, true); break;
      default: throw new GgufError(`unexpected element type ${type}`, this.r.offset); // unreachable: callers route the rest
    }
    this.r.offset = o;
  }

  private stringItems(items: Item[], what: string): void {
    for (let i = 0; i < items.length; i++) items[i] = this.string(`${what}[${i}]`);
  }
}

/** Defaults for unset caps; a cap must be a non-negative integer (Infinity means none). */
export function resolveOptions(options: ReadGgufOptions): Required<ReadGgufOptions> {
  const out = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ReadGgufOptions)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0) || (!Number.isInteger(v) && v !== Infinity)) throw new GgufError(`ReadGgufOptions.${key} must be a non-negative integer, got ${String(v)}`);
    out[key] = Math.min(v, Number.MAX_SAFE_INTEGER);
  }
  return out;
}
