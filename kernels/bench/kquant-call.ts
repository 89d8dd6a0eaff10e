// The K-quant kernel benches' shared set-up (kquant-ab.ts, tier-up.ts): Q8_K activations and packed weights in an instance.
import { GgmlType } from "../../src/gguf/ggml-types";
import { LinearMemory, type PackMemory } from "../../src/backends/wasm/linear-memory";
import type { PackedMatrix } from "../../src/backends/wasm/repack";
import { randomBlocks } from "../../test/kernels/random-blocks";
import { seededRandom } from "../../test/helpers/random";

export type Exports = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
type Pack = (mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean) => PackedMatrix;

/**
 * In `inst`'s memory: nTok rows of seeded random activations quantized by quantize_q8_k, then per type seeded random
 * file blocks packed by `repack` (a repack-kquant module: its packQ4K, packQ5K, ...) and an output buffer. Returns each
 * type's matmul arguments (out, w, xq, xd, xs, rows, cols, nTokens); the same seeds give every build the same inputs.
 */
export function kquantCalls(inst: WebAssembly.Instance, repack: object, types: readonly string[], rows: number, cols: number, nTok: number) {
  const k = inst.exports as unknown as Exports;
  const relaxed = k.is_relaxed!() !== 0;
  const mem = new LinearMemory(k.memory, k.heap_base!());
  const rand = seededRandom(11);
  const x = mem.alloc(nTok * cols * 4);
  for (let i = 0; i < nTok * cols; i++) mem.f32[x / 4 + i] = rand() * 2 - 1;
  const nb = (nTok * cols) / 256;
  const q = mem.alloc(nTok * cols * (relaxed ? 1 : 2) + nb * 116);
  const d = q + nTok * cols * (relaxed ? 1 : 2), s = d + nb * 4;
  k.quantize_q8_k!(x, q, d, s, nTok * cols);
  const calls = new Map<string, number[]>();
  for (const t of types) {
    const bytes = randomBlocks(seededRandom(5), GgmlType[t as "Q6_K"], rows, cols);
    const pack = (repack as Record<string, Pack>)[`pack${t.replace("_", "")}`]!;
    const w = pack(mem, rows, cols, bytes, relaxed).data;
    calls.set(t, [mem.alloc(nTok * rows * 4), w, q, d, s, rows, cols, nTok]);
  }
  return { k, mem, relaxed, calls };
}
