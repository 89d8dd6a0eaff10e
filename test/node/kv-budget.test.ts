// A SmolLM2-135M-shaped Q4_K_M model (llama.cpp's mix) serves one 2,048-token q8_0 session inside 128 MiB by the model host's own accounting.
import { beforeAll, describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { readGguf, type GgufFile } from "../../src/gguf/index";
import { GgmlType } from "../../src/gguf/ggml-types";
import { LOAD_CHUNK_BYTES } from "../../src/engine/weights";
import { synthMixModel } from "../../scripts/lib/synth-mix";
import { measureKvBudget, type KvBudgetRow } from "../../scripts/lib/kv-budget-run";

const MiB = 1 << 20;
const N_CTX = 2048;

describe("SmolLM2-135M-shaped Q4_K_M, one session of 2048 tokens, q8_0 KV, 128 MiB", () => {
  let file: GgufFile;
  let row: KvBudgetRow;
  let edge: KvBudgetRow;

  beforeAll(async () => {
    // Built once per run (about 20 s): an F32 synthesis of SmolLM2-135M's shape quantized as llama-quantize does.
    const bytes = synthMixModel("smollm2-135m", "q4_k_m", 1);
    file = readGguf(bytes);
    row = await measureKvBudget("smollm2-135m-q4_k_m.gguf", bytes, "q8_0", N_CTX, 128);
    // 2,150 tokens are just past the edge: the host may take them or refuse, but never lets linear memory pass the budget.
    edge = await measureKvBudget("smollm2-135m-q4_k_m.gguf", bytes, "q8_0", 2150, 128);
  });

  it("the file is llama.cpp's Q4_K_M of that shape: tied Q8_0 embedding, Q5_0 fallbacks for 576-wide rows, Q4_K/Q6_K ffn_down", () => {
    const type = (name: string) => file.tensorByName.get(name)?.type;
    expect(file.tensorByName.has("output.weight")).toBe(false);
    expect(type("token_embd.weight")).toBe(GgmlType.Q8_0);
    expect(type("blk.5.attn_q.weight")).toBe(GgmlType.Q5_0);
    expect(type("blk.0.attn_v.weight")).toBe(GgmlType.Q8_0); // Q6_K's fallback in the first eighth of the layers
    expect(type("blk.0.ffn_down.weight")).toBe(GgmlType.Q6_K);
    expect(type("blk.4.ffn_down.weight")).toBe(GgmlType.Q4_K); // between the first and last eighths only every third layer (5, 8, ...) gets Q6_K
  });

  it("fits: the host's count, and the loading peak (linear memory plus the read in flight), stay within 128 MiB", () => {
    expect(row.refused).toBeUndefined();
    expect(row.fits).toBe(true);
    expect(row.hostBytes!).toBeLessThanOrEqual(128 * MiB);
    expect(row.loadPeakBytes).toBeLessThanOrEqual(128 * MiB);
    expect(row.kvBytes).toBe(30 * 2 * N_CTX * 192 * (34 / 32)); // 30 layers × K,V × 2048 × 192 dims as q8_0
  });

  it("the host's count is the real wasm memory plus the tokenizer's tables, the only other JS buffers it holds", () => {
    // The WebAssembly.Memory itself, read past the host: the accounting cannot under-count linear memory.
    expect(row.hostBytes).toBe(row.wasmMemoryBytes! + row.tokenizerBytes!);
    expect(row.hostBytes!).toBeGreaterThanOrEqual(row.weightsBytes + row.kvBytes! + row.scratchBytes!);
    // Every other ArrayBuffer reachable from the host and the model is the tokenizer's (packed texts, hash, merges):
    // its heap estimate covers them, so the count above includes them, and they stay small.
    expect(row.jsBuffersBytes!).toBeLessThanOrEqual(row.tokenizerBytes!);
    expect(row.tokenizerBytes!).toBeLessThan(1.5 * MiB);
  });

  it("just past the edge (2,150 tokens) the host refuses before a pass would take linear memory past the budget", () => {
    if (edge.refused === undefined) expect(edge.linearBytes!).toBeLessThanOrEqual(128 * MiB);
    else expect(edge.refused).toMatch(/a context of 2150 tokens .* does not fit in the memory budget of 128\.0 MiB/);
    expect(edge.loadedLinearBytes).toBe(row.loadedLinearBytes);
  });

  it("loading never held a whole tensor in JS: range reads of about 4 MiB, far below the 30 MB embedding", () => {
    const embd = file.tensorByName.get("token_embd.weight")!.nBytes;
    expect(embd).toBeGreaterThan(28 * MiB);
    expect(row.largestReadBytes).toBeLessThanOrEqual(LOAD_CHUNK_BYTES);
    expect(row.rangeReads).toBeGreaterThan(file.tensors.length); // the large matrices took several reads each
  });

  it("the weights in linear memory take their file size, plus under 1 % (widened K-quant scales)", () => {
    const fileTensorBytes = file.tensors.reduce((n, t) => n + t.nBytes, 0);
    expect(row.weightsBytes).toBeGreaterThanOrEqual(fileTensorBytes);
    expect(row.weightsBytes).toBeLessThanOrEqual(fileTensorBytes * 1.01);
  });
});
