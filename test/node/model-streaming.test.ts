// LlamaModel.loadStreaming: tensors fetched one at a time give the same model as load() on the whole file (wasm backend).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { ModelError } from "../../src/engine/errors";
import { LlamaModel } from "../../src/engine/model";
import { readGguf, readGgufHeader } from "../../src/gguf/index";
import { readFixture } from "../helpers/fixtures";
import { greedyTokens } from "../helpers/greedy";
import { referenceFor } from "../helpers/reference";

const BACKEND = "wasm-simd128";

/** A streaming load from the file in memory, recording every range read (each one a fresh copy, as from R2). */
async function loadStreamed(bytes: Uint8Array) {
  const whole = readGguf(bytes);
  const header = readGgufHeader(bytes.slice(0, whole.dataOffset), bytes.byteLength);
  const reads: { offset: number; length: number }[] = [];
  const model = await LlamaModel.loadStreaming(header, async (offset, length) => {
    reads.push({ offset, length });
    return bytes.slice(offset, offset + length);
  }, createBackend(BACKEND));
  return { model, reads, whole };
}

function lastLogits(model: LlamaModel, tokens: number[]): Float32Array {
  const ctx = new LlamaContext(model, { nCtx: 64 });
  ctx.append(tokens);
  const logits = ctx.nextLogits().slice();
  ctx.dispose();
  return logits;
}

describe.each(["stories260K.gguf", "stories260K-Q8_0.gguf"])("loadStreaming on %s", (file) => {
  const bytes = readFixture(file);
  const run = referenceFor(file).runs[0]!;

  it("same logits, greedy tokens and weights as load(), one range read per tensor used", async () => {
    const { model, reads, whole } = await loadStreamed(bytes);
    const loaded = LlamaModel.load(bytes, createBackend(BACKEND));
    expect(lastLogits(model, run.promptTokens)).toEqual(lastLogits(loaded, run.promptTokens));
    const tokens = await greedyTokens(model, run.promptTokens, 32);
    expect(tokens).toEqual(await greedyTokens(loaded, run.promptTokens, 32));
    expect(tokens).toEqual(run.generatedTokens.slice(0, 32));
    expect(model.backend.memory().weightsBytes).toBe(loaded.backend.memory().weightsBytes);
    expect(model.fileBytes).toBe(bytes.byteLength);
    // Each read is exactly one tensor of the file (stories260K ties its output to the embedding: all 48 are used once).
    const byStart = new Map(whole.tensors.map((t) => [whole.dataOffset + t.offset, t.nBytes]));
    for (const r of reads) expect(byStart.get(r.offset)).toBe(r.length);
    expect(new Set(reads.map((r) => r.offset)).size).toBe(reads.length);
    expect(reads.length).toBe(whole.tensors.length);
  });

  it("a short read is a ModelError naming the tensor", async () => {
    const whole = readGguf(bytes);
    const header = readGgufHeader(bytes.subarray(0, whole.dataOffset), bytes.byteLength);
    const fetch = async (offset: number, length: number) => bytes.slice(offset, offset + length - 1);
    const err = await LlamaModel.loadStreaming(header, fetch, createBackend(BACKEND)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/^tensor .+: read \d+ bytes, expected \d+$/);
  });
});
