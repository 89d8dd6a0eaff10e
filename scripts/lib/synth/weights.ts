// Deterministic random tensor data for synthetic models: per-tensor streams, integer-only normals, chunked encoding.
import { GgmlType, ggmlRowBytes } from "../../../src/gguf/ggml-types";
import { quantize } from "../../../src/quant/index";
import { Rng } from "../../../src/engine/rng";

/** One tensor-table entry; `init` says how its values are made. */
export interface SynthTensorSpec {
  readonly name: string;
  /** GGUF ne: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /**
   * ones: norm weights; normal: N(0, WEIGHT_STD) weights; bias: N(0, WEIGHT_STD) F32 vectors; scale: F32 norm
   * weights 1 + N(0, 5·WEIGHT_STD) (so a per-head norm's weights matter); ramp: llama 3-like RoPE divisors from 1 to 8.
   */
  readonly init: "ones" | "normal" | "bias" | "scale" | "ramp";
}

/** Standard deviation of the random weights. */
export const WEIGHT_STD = 0.02;

/** 32-bit FNV-1a of a string's UTF-16 code units, with a chosen offset basis. */
function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Each tensor gets its own stream, keyed by (seed, name), so tensors can be made one at a time in any order. */
function tensorRng(seed: number, name: string): Rng {
  const key = `${seed}/${name}`;
  return new Rng((fnv1a(key, 0x811c9dc5) & 0x1fffff) * 2 ** 32 + fnv1a(key, 0x5bd1e995));
}

// Approximately normal values from integer math only (bit-identical on every engine): the sum of four 16-bit
// uniforms (Irwin-Hall, n = 4) has mean 2 * 65535 and variance 4 * (65536^2 - 1) / 12.
const IH_MEAN = 2 * 65535;
const IH_SCALE = WEIGHT_STD / Math.sqrt((65536 * 65536 - 1) / 3);

function fillNormal(rng: Rng, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const a = rng.nextU32();
    const b = rng.nextU32();
    out[i] = ((a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff) - IH_MEAN) * IH_SCALE;
  }
}

/** Rows generated per step: bounds the F32 scratch to about 4 MiB whatever the tensor's size. */
const CHUNK_ELEMENTS = 1 << 20;

/** Makes one tensor's data: values row-chunk by row-chunk, each chunk encoded right away (src/quant's quantize). */
export function synthTensorData(spec: SynthTensorSpec, seed: number): Uint8Array {
  const rowLen = spec.dims[0]!;
  const rows = spec.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = ggmlRowBytes(spec.type, rowLen);
  const out = new Uint8Array(rowBytes * rows);
  if (spec.init === "ones") {
    if (spec.type !== GgmlType.F32) throw new RangeError(`${spec.name}: norm weights are F32`);
    new Float32Array(out.buffer).fill(1);
    return out;
  }
  if (spec.init === "ramp") {
    const f = new Float32Array(out.buffer);
    for (let i = 0; i < f.length; i++) f[i] = 1 + (7 * i) / Math.max(1, f.length - 1);
    return out;
  }
  const rng = tensorRng(seed, spec.name);
  if (spec.init === "bias" || spec.init === "scale") {
    const f = new Float32Array(out.buffer);
    fillNormal(rng, f);
    if (spec.init === "scale") for (let i = 0; i < f.length; i++) f[i] = 1 + 5 * f[i]!;
    return out;
  }
  const chunkRows = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLen));
  const scratch = new Float32Array(Math.min(rows, chunkRows) * rowLen);
  for (let r = 0; r < rows; r += chunkRows) {
    const n = Math.min(chunkRows, rows - r);
    const values = n * rowLen === scratch.length ? scratch : scratch.subarray(0, n * rowLen);
    fillNormal(rng, values);
    out.set(quantize(spec.type, values), r * rowBytes);
  }
  return out;
}
