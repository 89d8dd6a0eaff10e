// A prompt longer than one batch runs the final norm and classifier once (its last batch), unless every row's logits are asked for.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import type { Backend } from "../../src/backends/backend";
import { createBackendAsync } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { readFixture } from "../helpers/fixtures";

const PROMPT = Array.from({ length: 70 }, (_, i) => 1 + ((i * 37 + 11) % 500)); // three batches of 32, 32 and 6

/** Counts the classifier's matmuls (the model's output matrix) on `backend`. */
function countClassifier(backend: Backend, model: LlamaModel): { calls: number } {
  const seen = { calls: 0 };
  const matmul = backend.matmul.bind(backend);
  backend.matmul = (out, w, x, n) => {
    if (w === model.weights.output) seen.calls++;
    matmul(out, w, x, n);
  };
  return seen;
}

describe("a prompt's batches before the last skip the head", () => {
  for (const backendName of ["ref", "wasm"] as const) {
    it(`${backendName}: one classifier pass for a 3-batch prompt, the same last-row logits as batch-by-batch evaluation`, async () => {
      const model = LlamaModel.load(readFixture("stories260K.gguf"), await createBackendAsync(backendName));
      const seen = countClassifier(model.backend, model);
      const whole = new LlamaContext(model, { nCtx: 96, maxBatch: 32 });
      const logits = whole.evaluate(PROMPT);
      expect(seen.calls).toBe(1);
      expect(logits.length).toBe(model.config.vocabSize);
      expect(whole.length).toBe(PROMPT.length);

      // Each evaluate's last batch has a head: three evaluates of one batch each give three classifier passes, and
      // the cache they leave is the same, so the last logits are bit-identical.
      seen.calls = 0;
      const stepwise = new LlamaContext(model, { nCtx: 96, maxBatch: 32 });
      let last: Float32Array = new Float32Array(0);
      for (let i = 0; i < PROMPT.length; i += 32) last = stepwise.evaluate(PROMPT.slice(i, i + 32));
      expect(seen.calls).toBe(3);
      expect(Array.from(logits)).toEqual(Array.from(last));

      // Every row's logits: every batch needs the head.
      seen.calls = 0;
      const all = new LlamaContext(model, { nCtx: 96, maxBatch: 32 });
      const rows = all.evaluate(PROMPT, { allLogits: true });
      expect(seen.calls).toBe(3);
      expect(Array.from(rows.subarray((PROMPT.length - 1) * model.config.vocabSize))).toEqual(Array.from(logits));

      // The greedy pick path (nextPick) takes the same batches.
      seen.calls = 0;
      const picked = new LlamaContext(model, { nCtx: 96, maxBatch: 32 });
      picked.append(PROMPT);
      const best = picked.nextPick();
      expect(seen.calls).toBe(1);
      let argmax = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[argmax]!) argmax = i;
      expect(best.token).toBe(argmax);
      for (const c of [whole, stepwise, all, picked]) c.dispose();
    });
  }
});
