// The forward pass issues the residual add and the next RMSNorm as one Backend.addRmsnorm where the backend has it,
// and gets the very logits the separate add and rmsnorm give (a backend without the op, and the ref backend).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import type { Backend } from "../../src/backends/backend";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { synthModel } from "../../scripts/lib/synth/model";

const LAYERS = 3;

/** The backend's ops counted by name (own properties wrapping the class's methods). */
function counting(b: Backend): Map<string, number> {
  const counts = new Map<string, number>();
  for (const op of ["add", "rmsnorm", "addRmsnorm"] as const) {
    const inner = b[op];
    if (!inner) continue;
    Object.defineProperty(b, op, {
      value: (...a: unknown[]) => {
        counts.set(op, (counts.get(op) ?? 0) + 1);
        return (inner as (...x: unknown[]) => unknown).apply(b, a);
      },
    });
  }
  return counts;
}

/** The prompt's logits (every row), then greedy steps' logits, as bits. */
function run(model: LlamaModel): number[][] {
  const ctx = new LlamaContext(model, { nCtx: 64, maxBatch: 8 });
  const prompt = Array.from({ length: 11 }, (_, i) => (i * 37 + 3) % model.config.vocabSize);
  const rows = [ctx.evaluate(prompt, { allLogits: true })];
  let next = 5;
  for (let i = 0; i < 6; i++) {
    const logits = ctx.evaluate([next]);
    rows.push(logits);
    next = logits.indexOf(Math.max(...logits));
  }
  ctx.dispose();
  return rows.map((r) => Array.from(new Uint32Array(r.buffer, r.byteOffset, r.length)));
}

describe.each(["wasm-relaxed", "wasm-simd128"])("%s addRmsnorm in the forward pass", (name) => {
  // f32 at dim 270: rows that are not whole 4-float vectors (the kernels' scalar tails).
  it.each([
    ["q4_0", { dim: 256, heads: 4, kvHeads: 2 }],
    ["q4_k", { dim: 256, heads: 4, kvHeads: 2 }],
    ["f32", { dim: 270, heads: 3, kvHeads: 3 }],
  ] as const)("%s: the same logits as add then rmsnorm, with 2·layers − 1 fused calls per pass", (type, shape) => {
    const bytes = synthModel({ shape: "tiny", overrides: { ...shape, ffn: 512, layers: LAYERS, vocab: 320 }, type, seed: 9 });
    const fused = createBackend(name);
    const counts = counting(fused);
    const plain = createBackend(name);
    Object.defineProperty(plain, "addRmsnorm", { value: undefined }); // the op hidden: the pass issues add and rmsnorm
    const a = run(LlamaModel.load(bytes, fused));
    // Passes: the prompt in 2 batches of 8 and 3, then 6 steps; each fuses all but layer 0's first norm and the last add.
    const passes = 2 + 6;
    expect(counts.get("addRmsnorm")).toBe(passes * (2 * LAYERS - 1));
    expect(counts.get("add") ?? 0).toBe(passes);
    expect(counts.get("rmsnorm")).toBe(passes * 2); // layer 0's attention norm and the output norm
    const b = run(LlamaModel.load(bytes, plain));
    expect(a).toEqual(b);
  });
});
