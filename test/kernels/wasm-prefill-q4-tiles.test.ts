// The relaxed build's Q4_0 prefill tiles (Node's one-panel i16 tiles, the fused form's two-panel ones in
// prefill-block32.ts): each token of a batch gets its one-token bits in both forms, rows not a multiple of 8, 1..9 and
// 17 tokens; the i16 tiles' block offset, carried in the i16 lanes' start, at the widest lanes and largest starts.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";
import { type Fused, run } from "./block32-matmul";

describe("wasm-relaxed Q4_0 i16 tiles: the block offset in the i16 lanes' start", () => {
  // Each lane starts at −4Σq (a row's lane pair at −8Σq) and ends at Σ(n − 4)q over its 16 elements − 4Σq over the
  // other 16. Q4_0 bytes k ≡ 0, 1 (mod 4) (elements k and k + 16, the even lanes) at 0xff (nibbles 15), the others at
  // 0x88 (nibbles 8, worth 0). Against q = +127 on elements k ≡ 0, 1 and −127 on the rest ("alternating") the even
  // lanes end at 16·15·127 = 30480, the widest an i16 lane gets (Σq = 0); against q = 127 everywhere ("constant") the
  // start carries −4·32·127 per lane (even lanes 14224, odd 0). x negated flips the signs.
  const widest = (rows: number, cols: number): Uint8Array => {
    const bytes = new Uint8Array((rows * cols) / 32 * 18);
    for (let b = 0; b < bytes.length; b += 18) {
      bytes.set([0x00, 0x38], b); // f16 d = 0.5
      for (let k = 0; k < 16; k++) bytes[b + 2 + k] = k % 4 < 2 ? 0xff : 0x88;
    }
    return bytes;
  };
  // [rows, cols]: 4 panels, the last of 1 row; 3 and 7 blocks (32·odd).
  it.each([
    [13, 96],
    [13, 224],
  ])("%i×%i: the i16 steps give the fused dot-adds' bits and Σ(n − 8)q·d·dx per block, 1..9 and 17 tokens", (rows, cols) => {
    const bytes = widest(rows, cols);
    for (const [kind, sign] of [["alternating", 1], ["alternating", -1], ["constant", 1], ["constant", -1]] as const) {
      const x = new Float32Array(17 * cols).map((_, i) => (kind === "constant" || i % 4 < 2 ? sign : -sign));
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17]) {
        const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
        const fused = instantiateKernels(kernelModules().relaxed!) as Fused;
        const want = run(fused, fused.matmul_q4_0_fused, true, bytes, rows, cols, x.subarray(0, n * cols), n);
        const got = run(plain, plain.matmul_q4_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n);
        // Per block Σ(n − 8)q = 16·7·127 = 14224 (either pattern; sign), times d = 0.5 and dx = 1/127: 56 per block.
        const per = (sign * 56 * cols) / 32;
        expect(Array.from(new Float32Array(got.buffer)).every((v) => Math.abs(v - per) < 1e-3 * Math.abs(per)), `${kind} ${sign}, ${n} tokens`).toBe(true);
        expect(Array.from(got), `${kind} ${sign}, ${n} tokens`).toEqual(Array.from(want));
      }
    }
  });

  // [rows, cols]: rows not a multiple of 8 (4 panels, the last of 1 row; 10 panels, the last of 2), 3 and 9 blocks.
  it.each([
    [13, 96],
    [38, 288],
  ])("%i×%i: each token of batches of 1..9 and 17 gets its one-token bits, in both forms", (rows, cols) => {
    const rand = seededRandom(0x16f05ed + rows * 3 + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 17 * cols);
    for (const form of ["matmul_q4_0_i16", "matmul_q4_0_fused"] as const) {
      const alone: Uint32Array[] = [];
      for (let t = 0; t < 17; t++) {
        const k = instantiateKernels(kernelModules().relaxed!) as Fused;
        alone.push(run(k, k[form], true, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
      }
      expect(new Set(alone[0]).size).toBeGreaterThan(rows / 2);
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17]) {
        const k = instantiateKernels(kernelModules().relaxed!) as Fused;
        const batch = run(k, k[form], true, bytes, rows, cols, x.subarray(0, n * cols), n);
        for (let t = 0; t < n; t++) expect(Array.from(batch.subarray(t * rows, (t + 1) * rows)), `${form}, ${n} tokens, token ${t}`).toEqual(Array.from(alone[t]!));
      }
    }
  });
});

describe("wasm-relaxed Q4_0 prefill tiles, two-panel in the fused form (8 rows × 4 tokens)", () => {
  // [rows, cols]: 3 panels (a pair and one alone), 3 and 7 blocks; 5 panels, the last of 1 row; 2 panels of 8 rows and
  // one block; 6 panels, the pair's second of 2 rows.
  it.each([
    [12, 96],
    [17, 224],
    [8, 32],
    [22, 160],
  ])("%i×%i: each token of batches of 1..9 gets its one-token bits, in both forms", (rows, cols) => {
    const rand = seededRandom(0x8f05ed + rows * 3 + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 9 * cols);
    for (const form of ["matmul_q4_0_i16", "matmul_q4_0_fused"] as const) {
      const alone: Uint32Array[] = [];
      for (let t = 0; t < 9; t++) {
        const k = instantiateKernels(kernelModules().relaxed!) as Fused;
        alone.push(run(k, k[form], true, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
      }
      expect(new Set(alone[0]).size).toBeGreaterThan(rows / 2);
      for (let n = 1; n <= 9; n++) {
        const k = instantiateKernels(kernelModules().relaxed!) as Fused;
        const batch = run(k, k[form], true, bytes, rows, cols, x.subarray(0, n * cols), n);
        for (let t = 0; t < n; t++) expect(Array.from(batch.subarray(t * rows, (t + 1) * rows)), `${form}, ${n} tokens, token ${t}`).toEqual(Array.from(alone[t]!));
      }
    }
  });
});
