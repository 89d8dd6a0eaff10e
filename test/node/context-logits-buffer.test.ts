// A context's logits buffer holds one row (what every pass but an allLogits one needs) and grows when a pass wants every row.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackendAsync } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { readFixture } from "../helpers/fixtures";

const PROMPT = [1, 403, 407, 261, 378, 117, 290];

describe("LlamaContext run buffers (wasm, stories260K)", () => {
  it("hold maxBatch rows of activations but one row of logits; an allLogits pass grows them and gives every row's logits", async () => {
    const model = LlamaModel.load(readFixture("stories260K.gguf"), await createBackendAsync("wasm"));
    const c = model.config;
    const maxBatch = 32;
    const before = model.backend.memory().scratchBytes;
    const ctx = new LlamaContext(model, { nCtx: 64, maxBatch });
    const activations = maxBatch * (4 * c.dim + 2 * c.qDim + 2 * c.kvDim + 2 * c.ffnDim); // x, xb, proj, last; q, att; k, v; gate, up
    expect(model.backend.memory().scratchBytes - before).toBe(4 * (activations + c.vocabSize));

    const all = ctx.evaluate(PROMPT, { allLogits: true });
    // The buffer grew to the pass's rows (scratch areas of the kernels come on top).
    expect(model.backend.memory().scratchBytes - before).toBeGreaterThanOrEqual(4 * (activations + PROMPT.length * c.vocabSize));

    const one = new LlamaContext(model, { nCtx: 64, maxBatch });
    for (let t = 0; t < PROMPT.length; t++) {
      const row = one.evaluate([PROMPT[t]!]);
      // Batched tiles and single-token dots sum in different orders: equal to f32 rounding, not bit for bit.
      const got = all.subarray(t * c.vocabSize, (t + 1) * c.vocabSize);
      expect(Math.max(...row.map((v, i) => Math.abs(v - got[i]!)))).toBeLessThan(1e-4);
    }
    // And the last-row-only path still gives the last row of the batched pass.
    const last = new LlamaContext(model, { nCtx: 64, maxBatch });
    expect(Array.from(last.evaluate(PROMPT))).toEqual(Array.from(all.subarray((PROMPT.length - 1) * c.vocabSize)));
    for (const x of [ctx, one, last]) x.dispose();
  });
});
