// The two greedy decode steps kernels/bench/greedy-ab.ts compares, on one loaded model: whole rows vs greedy picks.
import { LlamaContext } from "../../src/engine/context";
import type { LlamaModel } from "../../src/engine/model";
import { argmax, BenchSession } from "../../scripts/lib/bench-core";

/** The bench's decode before greedy picks: each step reads the logits row out of the backend and a JS argmax scans it. */
export class RowsSession {
  private ctx: LlamaContext;
  private logits: Float32Array = new Float32Array(0);
  constructor(readonly model: LlamaModel, readonly prompt: readonly number[], readonly decode: number) {
    this.ctx = new LlamaContext(model, { nCtx: prompt.length + decode + 1 });
  }
  prefill(): void {
    this.logits = this.ctx.evaluate(this.prompt);
  }
  decodeAll(): void {
    for (let i = 0; i < this.decode; i++) this.logits = this.ctx.evaluate([argmax(this.logits)]);
  }
  dispose(): void {
    this.ctx.dispose();
  }
}

export type AbMode = "rows" | "picks";
export const AB_MODES: readonly AbMode[] = ["rows", "picks"];

/** A session of the mode: "picks" is bench-core's BenchSession (LlamaContext.nextPick, what a greedy request runs). */
export function abSession(mode: AbMode, model: LlamaModel, prompt: readonly number[], decode: number): RowsSession | BenchSession {
  return mode === "rows" ? new RowsSession(model, prompt, decode) : new BenchSession(model, prompt, decode);
}

/**
 * The greedy step's pick alone, `n` times over one vocabulary-sized row in the backend (random logits): "rows" reads
 * the row out (Backend.read) and scans it in JS (bench-core's argmax), "picks" runs Backend.argmax where it lies.
 * Returns the sum of the picks (so neither loop can be dropped).
 */
export function pickLoop(model: LlamaModel, mode: AbMode, n: number): number {
  const b = model.backend;
  const vocab = model.config.vocabSize;
  const buf = b.createBuffer(vocab);
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) row[i] = Math.sin(i * 12.9898) * 10;
  b.write(buf, row);
  let sum = 0;
  if (mode === "rows") for (let i = 0; i < n; i++) sum += argmax(b.read(buf, 0, vocab));
  else for (let i = 0; i < n; i++) sum += b.argmax!(buf, 0, vocab).index;
  b.release(buf);
  return sum;
}
