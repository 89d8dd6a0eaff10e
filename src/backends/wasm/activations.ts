// Prepares a matmul's input rows in linear memory as the weight format's kernel reads them (formats.ts ActivationKind).
import type { Activations, ActivationKind } from "./formats";
import type { KernelExports } from "./kernel-exports";

/** A scratch area of at least `bytes` for one kind of activations, reused across calls (the backend's allocator). */
export type ScratchFor = (slot: "actQ" | "actK" | "actF", bytes: number) => number;

/**
 * What the "actQ" scratch holds: one token's Q8_0 quants at q of n floats, a copy of those floats after them (q = -1:
 * nothing known). The backend keeps one per instance; every use of "actQ" updates it.
 */
export interface HeldQ8 {
  q: number;
  n: number;
  /**
   * The quants of the last call that took the other paths (multi-token, or Q8_1): the input address they came from
   * (x = -1: nothing), their address, float count, row length and kind. The backend drops it (x = -1) on every op
   * that may write linear memory other than a matmul's output clear of x, so an equal key means equal input bytes.
   */
  multi: { x: number; q: number; n: number; cols: number; kind: ActivationKind };
}

/** A HeldQ8 holding nothing. */
export function heldNothing(): HeldQ8 {
  return { q: -1, n: 0, multi: { x: -1, q: 0, n: 0, cols: 0, kind: "f32" } };
}

/**
 * The n input floats at xp (rows of `cols`), rounded or quantized as ggml's CPU backend feeds weights of that
 * activation kind. oneToken: a one-token matmul, whose Q8_0 quants are reused when the next one-token matmul's input
 * has the same bytes (q, k and v read one normed row, as do gate and up): quantize_q8_0_keep compares the input with
 * the copy kept beside the quants; `held` says whether that copy and the quants are still there. Multi-token passes
 * (q, k, v of a prompt read the same normed rows, as do gate and up) reuse the quants when held.multi names the same
 * input, scratch, size, rows and kind (the backend keeps it only while that input cannot have changed).
 */
export function prepareActivations(k: KernelExports, kind: ActivationKind, xp: number, n: number, relaxed: boolean, scratch: ScratchFor, held: HeldQ8, oneToken: boolean, cols = n): Activations {
  switch (kind) {
    case "f32":
      return { x: xp, q: 0, d: 0, s: 0, st: 0 };
    case "f16":
    case "bf16": {
      // ggml dots F16 (BF16) weights with activations rounded to f16 (bf16); the products and sums are then f32.
      const xr = scratch("actF", n * 4);
      if (kind === "f16") k.round_f16(xr, xp, n);
      else k.round_bf16(xr, xp, n);
      return { x: xr, q: 0, d: 0, s: 0, st: 0 };
    }
    case "q8_0":
    case "q8_0_tiles":
    case "q8_1": {
      // Quants (i16 lanes, and i8 too on the relaxed build: 3 bytes each), then d and -Σq per 32-block; Q8_1 then
      // adds its f16 s = d·Σq (as f32) per block.
      const nb = n / 32;
      const keep = (kind === "q8_0" || kind === "q8_0_tiles") && oneToken;
      const q = scratch("actQ", n * 3 + nb * 12 + (keep ? n * 4 : 0));
      const d = q + n * 3;
      const s = d + nb * 4;
      const st = s + nb * 4;
      // q8_0_tiles: the same values, full 4-token tiles interleaved for the relaxed Q4_0 prefill tiles (in less room);
      // one token's are Q8_0's row.
      const m = held.multi;
      if (keep) {
        k.quantize_q8_0_keep(xp, q, d, s, n, st + nb * 4, held.q === q && held.n === n ? 1 : 0);
        held.q = q;
        held.n = n;
        m.x = -1;
        return { x: xp, q, d, s, st };
      }
      held.q = -1;
      if (m.x === xp && m.q === q && m.n === n && m.cols === cols && m.kind === kind) return { x: xp, q, d, s, st };
      Object.assign(m, { x: xp, q, n, cols, kind });
      if (kind === "q8_1") k.quantize_q8_1(xp, q, d, s, st, n);
      else if (kind === "q8_0_tiles") k.quantize_q8_0_tiles(xp, q, d, s, cols, n / cols);
      else k.quantize_q8_0(xp, q, d, s, n);
      return { x: xp, q, d, s, st };
    }
    case "q8_k": {
      // Quants (i8 on the relaxed build, i16 on SIMD128), then d and 112 bytes of negated partial sums per 256-block
      // (kernels/wasm/quantize-q8k.ts).
      const nb = n / 256;
      const qBytes = n * (relaxed ? 1 : 2);
      const q = scratch("actK", qBytes + nb * 4 + nb * 112);
      const d = q + qBytes;
      const s = d + nb * 4;
      k.quantize_q8_k(xp, q, d, s, n);
      return { x: xp, q, d, s, st: 0 };
    }
  }
}
