// Prepares a matmul's input rows in linear memory as the weight format's kernel reads them (formats.ts ActivationKind).
import type { Activations, ActivationKind } from "./formats";
import type { KernelExports } from "./kernel-exports";

/** A scratch area of at least `bytes` for one kind of activations, reused across calls (the backend's allocator). */
export type ScratchFor = (slot: "actQ" | "actK" | "actF", bytes: number) => number;

/** Activations the backend fills in place (one object per kind of scratch: no object per matmul). */
type Filled = { -readonly [K in keyof Activations]: Activations[K] };

/**
 * What one quantized scratch ("actQ": Q8_0 and Q8_1, "actK": Q8_K) holds: the input address its quants came from
 * (x = -1: nothing), their address, float count, row length and layout kind, and the Activations handed to the kernels.
 */
export interface HeldKey {
  x: number;
  q: number;
  n: number;
  cols: number;
  kind: ActivationKind;
  readonly a: Filled;
}

/**
 * The quants the backend holds, one key per quantized scratch, and the Activations of the unquantized kinds. The
 * backend drops both keys (x = -1: WasmBackend.dropHeld) on every op that may write linear memory other than a
 * matmul's output clear of x, and on a release, so an equal key means equal input bytes: consecutive matmuls of one
 * input (q, k and v read one normed row or prompt, as do gate and up) quantize it once, one token or many.
 */
export interface HeldQuants {
  readonly q8: HeldKey;
  readonly k: HeldKey;
  readonly f: Filled;
}

const nothing = (): HeldKey => ({ x: -1, q: 0, n: 0, cols: 0, kind: "f32", a: { x: 0, q: 0, d: 0, s: 0, st: 0 } });

/** HeldQuants holding nothing. */
export function heldNothing(): HeldQuants {
  return { q8: nothing(), k: nothing(), f: { x: 0, q: 0, d: 0, s: 0, st: 0 } };
}

/** Fills the key's Activations for quants at q of n floats at xp (d, s and st after them), and returns them. */
function keyed(key: HeldKey, xp: number, q: number, n: number, cols: number, kind: ActivationKind, d: number, s: number, st: number): Activations {
  key.x = xp;
  key.q = q;
  key.n = n;
  key.cols = cols;
  key.kind = kind;
  const a = key.a;
  a.x = xp;
  a.q = q;
  a.d = d;
  a.s = s;
  a.st = st;
  return a;
}

/**
 * The n input floats at xp (rows of `cols`), rounded or quantized as ggml's CPU backend feeds weights of that
 * activation kind. The returned Activations are the backend's own object (held.f or a key's), valid until the next
 * call. Quantized kinds reuse the held quants when the key names the same input, scratch, size, rows and layout.
 */
export function prepareActivations(k: KernelExports, kind: ActivationKind, xp: number, n: number, relaxed: boolean, scratch: ScratchFor, held: HeldQuants, cols = n): Activations {
  switch (kind) {
    case "f32": {
      const a = held.f;
      a.x = xp;
      return a;
    }
    case "f16":
    case "bf16": {
      // ggml dots F16 (BF16) weights with activations rounded to f16 (bf16); the products and sums are then f32.
      const xr = scratch("actF", n * 4);
      if (kind === "f16") k.round_f16(xr, xp, n);
      else k.round_bf16(xr, xp, n);
      const a = held.f;
      a.x = xr;
      return a;
    }
    case "q8_0":
    case "q8_0_tiles":
    case "q8_1": {
      // Quants (i16 lanes, and i8 too on the relaxed build: 3 bytes each), then d and -Σq per 32-block; Q8_1 then
      // adds its f16 s = d·Σq (as f32) per block. q8_0_tiles: the same values, full 4-token tiles interleaved for the
      // relaxed Q4_0 prefill tiles (in less room); under 4 rows (and on SIMD128) it is Q8_0's row layout, so keyed so.
      const layout = kind === "q8_0_tiles" && (!relaxed || n < 4 * cols) ? "q8_0" : kind;
      const key = held.q8;
      if (key.x === xp && key.n === n && key.cols === cols && key.kind === layout) return key.a;
      key.x = -1; // until the new quants are written
      const nb = n / 32;
      const q = scratch("actQ", n * 3 + nb * 12);
      const d = q + n * 3;
      const s = d + nb * 4;
      if (layout === "q8_1") k.quantize_q8_1(xp, q, d, s, s + nb * 4, n);
      else if (layout === "q8_0_tiles") k.quantize_q8_0_tiles(xp, q, d, s, cols, n / cols);
      else k.quantize_q8_0(xp, q, d, s, n);
      return keyed(key, xp, q, n, cols, layout, d, s, s + nb * 4);
    }
    case "q8_k": {
      // Quants (i8 on the relaxed build, i16 on SIMD128), then d and 112 bytes of negated partial sums per 256-block
      // (kernels/wasm/quantize-q8k.ts): the same bytes for any row length, so keyed by the input and size alone.
      const key = held.k;
      if (key.x === xp && key.n === n) return key.a;
      key.x = -1;
      const nb = n / 256;
      const qBytes = n * (relaxed ? 1 : 2);
      const q = scratch("actK", qBytes + nb * 4 + nb * 112);
      const d = q + qBytes;
      const s = d + nb * 4;
      k.quantize_q8_k(xp, q, d, s, n);
      return keyed(key, xp, q, n, n, kind, d, s, 0);
    }
  }
}
