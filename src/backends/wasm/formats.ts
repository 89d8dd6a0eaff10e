// The wasm backend's weight formats, one row per ggml type: file geometry, repack, kernels, activations, memory.
import { GGML_TYPES, GgmlType } from "../../gguf/ggml-types";
import type { KernelExports } from "./kernel-exports";
import type { PackMemory } from "./linear-memory";
import { block32PackedBytes, packBlock32, packFloat, type PackedMatrix } from "./repack";
import { legacyPackedBytes, packLegacy } from "./repack-legacy";
import {
  Q2K_PANEL_BLOCK, Q3K_PANEL_BLOCK, Q4K_PANEL_BLOCK, Q5K_PANEL_BLOCK, Q6K_PANEL_BLOCK,
  kquantPackedBytes, packQ2K, packQ3K, packQ4K, packQ5K, packQ6K,
} from "./repack-kquant";

/**
 * How a matmul's input rows reach the kernel, as ggml's CPU backend feeds that weight type: f32 as is, rounded to
 * f16 or bf16, quantized to Q8_0 (32-blocks), Q8_1 (Q8_0 plus the f16 s = d·Σq term) or Q8_K (256-blocks).
 * q8_0_tiles: Q8_0's values, with each full 4-token tile's tokens interleaved (kernels/wasm/quantize-act.ts
 * quantize_q8_0_tiles) for the relaxed build's Q4_0 prefill tiles; fewer than 4 tokens keep Q8_0's rows.
 */
export type ActivationKind = "f32" | "f16" | "bf16" | "q8_0" | "q8_0_tiles" | "q8_1" | "q8_k";

/** Prepared activations in linear memory: `x` (f32 or f16-rounded rows) or quants `q`, scales `d`, sums `s`, Q8_1 `st`. */
export interface Activations {
  readonly x: number;
  readonly q: number;
  readonly d: number;
  readonly s: number;
  readonly st: number;
}

export interface WasmFormat {
  readonly type: GgmlType;
  /** Elements per block and bytes per block in the GGUF file (floats: one element). Rows must be whole blocks. */
  readonly blockElems: number;
  readonly blockBytes: number;
  readonly activation: ActivationKind;
  /** Bytes the packed rows×cols matrix takes in linear memory (the memory estimate before loading). */
  packedBytes(rows: number, cols: number): number;
  /** Copies the file's bytes into linear memory in the kernels' layout (the relaxed build's may differ). */
  pack(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix;
  /** out[t, r] = Σ_c w[r, c] x[t, c] for nTokens prepared rows (decode and prefill tiles alike). */
  matmul(k: KernelExports, out: number, w: PackedMatrix, a: Activations, rows: number, cols: number, nTokens: number): void;
  /** One token's matmul where the format has a kernel of its own for it; xe: scratch of DECODE_SCRATCH_PER_COL·cols bytes. */
  decode?(k: KernelExports, out: number, w: PackedMatrix, a: Activations, rows: number, cols: number, xe: number): void;
  /** out[t, :] = row tokens[t] of the table, dequantized; `tokens` points at nTokens i32 ids. */
  embed(k: KernelExports, out: number, w: PackedMatrix, cols: number, tokens: number, nTokens: number): void;
}

/** Scratch bytes per input column that WasmFormat.decode needs (the expanded activations of decode-pair.ts; 10: Q8_0's split form). */
export const DECODE_SCRATCH_PER_COL = 10;

type Row = Omit<WasmFormat, "type" | "blockElems" | "blockBytes">;

const ROWS: ReadonlyArray<readonly [GgmlType, Row]> = [
  [GgmlType.F32, {
    activation: "f32",
    packedBytes: (rows, cols) => rows * cols * 4,
    pack: (mem, rows, cols, bytes) => packFloat(mem, 4, rows, cols, bytes),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_f32(out, w.data, a.x, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_float(out, w.data, 4, cols, tokens, n),
  }],
  [GgmlType.F16, {
    activation: "f16",
    packedBytes: (rows, cols) => rows * cols * 2,
    pack: (mem, rows, cols, bytes) => packFloat(mem, 2, rows, cols, bytes),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_f16(out, w.data, a.x, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_float(out, w.data, 2, cols, tokens, n),
  }],
  [GgmlType.BF16, {
    activation: "bf16",
    packedBytes: (rows, cols) => rows * cols * 2,
    pack: (mem, rows, cols, bytes) => packFloat(mem, 2, rows, cols, bytes),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_bf16(out, w.data, a.x, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_bf16(out, w.data, cols, tokens, n),
  }],
  [GgmlType.Q8_0, {
    activation: "q8_0",
    packedBytes: (rows, cols) => block32PackedBytes(32, rows, cols),
    pack: (mem, rows, cols, bytes, relaxed) => packBlock32(mem, true, rows, cols, bytes, relaxed),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q8_0(out, w.data, w.scales, a.q, a.d, a.s, rows, cols, n),
    decode: (k, out, w, a, rows, cols, xe) => k.decode_q8_0(out, w.data, w.scales, a.q, a.d, a.s, rows, cols, xe),
    embed: (k, out, w, cols, tokens, n) => k.embed_quant(out, w.data, w.scales, 0, cols, tokens, n),
  }],
  [GgmlType.Q4_0, {
    activation: "q8_0_tiles",
    packedBytes: (rows, cols) => block32PackedBytes(16, rows, cols),
    pack: (mem, rows, cols, bytes, relaxed) => packBlock32(mem, false, rows, cols, bytes, relaxed),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q4_0_tiles(out, w.data, w.scales, a.q, a.d, a.s, rows, cols, n),
    decode: (k, out, w, a, rows, cols, xe) => k.decode_q4_0(out, w.data, w.scales, a.q, a.d, a.s, rows, cols, xe),
    embed: (k, out, w, cols, tokens, n) => k.embed_quant(out, w.data, w.scales, 1, cols, tokens, n),
  }],
  [GgmlType.Q4_1, {
    activation: "q8_1",
    packedBytes: (rows, cols) => legacyPackedBytes("q4_1", rows, cols),
    pack: (mem, rows, cols, bytes, relaxed) => packLegacy("q4_1", mem, rows, cols, bytes, relaxed),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q4_1(out, w.data, a.q, a.d, a.s, a.st, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_legacy(out, w.data, 0, cols, tokens, n),
  }],
  [GgmlType.Q5_0, {
    activation: "q8_0",
    packedBytes: (rows, cols) => legacyPackedBytes("q5_0", rows, cols),
    pack: (mem, rows, cols, bytes, relaxed) => packLegacy("q5_0", mem, rows, cols, bytes, relaxed),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q5_0(out, w.data, a.q, a.d, a.s, 0, rows, cols, n),
    decode: (k, out, w, a, rows, cols, xe) => k.decode_q5_0(out, w.data, a.q, a.d, a.s, 0, rows, cols, xe),
    embed: (k, out, w, cols, tokens, n) => k.embed_legacy(out, w.data, 1, cols, tokens, n),
  }],
  [GgmlType.Q5_1, {
    activation: "q8_1",
    packedBytes: (rows, cols) => legacyPackedBytes("q5_1", rows, cols),
    pack: (mem, rows, cols, bytes, relaxed) => packLegacy("q5_1", mem, rows, cols, bytes, relaxed),
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q5_1(out, w.data, a.q, a.d, a.s, a.st, rows, cols, n),
    decode: (k, out, w, a, rows, cols, xe) => k.decode_q5_1(out, w.data, a.q, a.d, a.s, a.st, rows, cols, xe),
    embed: (k, out, w, cols, tokens, n) => k.embed_legacy(out, w.data, 2, cols, tokens, n),
  }],
  [GgmlType.Q2_K, {
    activation: "q8_k",
    packedBytes: (rows, cols) => kquantPackedBytes(Q2K_PANEL_BLOCK, rows, cols),
    pack: packQ2K,
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q2_k(out, w.data, a.q, a.d, a.s, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_q2_k(out, w.data, cols, tokens, n),
  }],
  [GgmlType.Q3_K, {
    activation: "q8_k",
    packedBytes: (rows, cols) => kquantPackedBytes(Q3K_PANEL_BLOCK, rows, cols),
    pack: packQ3K,
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q3_k(out, w.data, a.q, a.d, a.s, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_q3_k(out, w.data, cols, tokens, n),
  }],
  [GgmlType.Q4_K, {
    activation: "q8_k",
    packedBytes: (rows, cols) => kquantPackedBytes(Q4K_PANEL_BLOCK, rows, cols),
    pack: packQ4K,
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q4_k(out, w.data, a.q, a.d, a.s, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_q4_k(out, w.data, cols, tokens, n),
  }],
  [GgmlType.Q5_K, {
    activation: "q8_k",
    packedBytes: (rows, cols) => kquantPackedBytes(Q5K_PANEL_BLOCK, rows, cols),
    pack: packQ5K,
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q5_k(out, w.data, a.q, a.d, a.s, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_q5_k(out, w.data, cols, tokens, n),
  }],
  [GgmlType.Q6_K, {
    activation: "q8_k",
    packedBytes: (rows, cols) => kquantPackedBytes(Q6K_PANEL_BLOCK, rows, cols),
    pack: packQ6K,
    matmul: (k, out, w, a, rows, cols, n) => k.matmul_q6_k(out, w.data, a.q, a.d, a.s, rows, cols, n),
    embed: (k, out, w, cols, tokens, n) => k.embed_q6_k(out, w.data, cols, tokens, n),
  }],
];

/** Every weight format the wasm backend runs, keyed by ggml type. Adding one: a kernel, a row here, a conformance entry. */
export const WASM_FORMATS: ReadonlyMap<number, WasmFormat> = new Map(
  ROWS.map(([type, row]) => {
    const info = GGML_TYPES.get(type)!;
    return [type, { type, blockElems: info.blockSize, blockBytes: info.typeSize, ...row }] as const;
  }),
);

/**
 * Bytes a rows×cols matrix of `type` takes once loaded by the wasm backend: the packed size where the table has the
 * type, else `fileBytes` (the stored size: what a backend copying the tensor would hold).
 */
export function wasmMatrixBytes(type: number, rows: number, cols: number, fileBytes: number): number {
  const f = WASM_FORMATS.get(type);
  return f && cols % f.blockElems === 0 ? f.packedBytes(rows, cols) : fileBytes;
}
