// model:synth with a real vocabulary (vocabFrom / --vocab-from): tokenizer keys copied, vocab size and tensors follow.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { gguf, metaArray, metaOptNumber, metaOptString, readGguf, writeGguf, type GgufFile } from "../../src/gguf/index";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { synthMetadata, synthModel, synthShapeOf, synthTensorSpecs } from "../../scripts/lib/synth/model";
import { findFixture, optionalFixtures } from "../helpers/fixtures";

const GPT2 = "vocab/ggml-vocab-gpt-2.gguf";
const SMOLLM2 = "vocab/smollm2.gguf";
const LLAMA_SPM = "vocab/ggml-vocab-llama-spm.gguf";
const set = optionalFixtures([GPT2, SMOLLM2, LLAMA_SPM]);

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(findFixture(name)!));
const tokenizerKeys = (f: GgufFile) => [...f.metadata].filter(([k]) => k.startsWith("tokenizer."));

/** The generated model's tokenizer.* keys equal the source's (values, types and order), and its vocabulary sizes the tensors. */
function expectVocabOf(model: GgufFile, source: GgufFile): void {
  expect(tokenizerKeys(model)).toEqual(tokenizerKeys(source));
  const n = metaArray(source, "tokenizer.ggml.tokens").items.length;
  expect(metaOptNumber(model, "llama.vocab_size")).toBe(n);
  expect(model.tensorByName.get("token_embd.weight")!.dims).toEqual([64, n]);
  const output = model.tensorByName.get("output.weight");
  if (output) expect(output.dims).toEqual([64, n]);
  expect(metaOptString(model, "general.architecture")).toBe("llama");
}

describe.skipIf(!set.available)("vocabFrom: a real vocabulary", () => {
  it("gpt-2 (BPE, merges): keys copied, 50257 rows; deterministic; bytes or a parsed file give the same model", () => {
    const source = load(GPT2);
    const bytes = synthModel({ shape: "tiny", type: "q8_0", seed: 1, vocabFrom: source });
    const f = readGguf(bytes);
    expectVocabOf(f, readGguf(source));
    expect(metaOptString(f, "tokenizer.ggml.model")).toBe("gpt2");
    expect(metaArray(f, "tokenizer.ggml.merges").items.length).toBe(50000);
    expect(f.tensorByName.get("output.weight")!.dims).toEqual([64, 50257]);
    expect(sha(synthModel({ shape: "tiny", type: "q8_0", seed: 1, vocabFrom: readGguf(source) }))).toBe(sha(bytes));
    // The synthetic vocabulary's keys are gone (a real vocab has no scores here).
    expect(f.metadata.has("tokenizer.ggml.scores")).toBe(false);
  });

  it("smollm2: chat template, pre, special ids and add_bos come along; a tied shape has no output.weight", () => {
    const source = readGguf(load(SMOLLM2));
    const opts = { shape: "tiny", overrides: { tied: true }, type: "f16", seed: 2, vocabFrom: source } as const;
    const f = readGguf(synthModel(opts));
    expectVocabOf(f, source);
    expect(f.tensorByName.has("output.weight")).toBe(false);
    expect(metaOptString(f, "tokenizer.chat_template")).toContain("<|im_start|>");
    expect(metaOptString(f, "tokenizer.ggml.pre")).toBe("smollm");
    expect(f.metadata.get("tokenizer.ggml.add_bos_token")!.value).toBe(false);
    expect(metaOptNumber(f, "tokenizer.ggml.padding_token_id")).toBe(2);
    expect(synthShapeOf(opts).vocab).toBe(49152);
    expect(synthTensorSpecs(synthShapeOf(opts), "f16")[0]!.dims).toEqual([64, 49152]);
    expect(new Map(synthMetadata(opts)).get("llama.vocab_size")!.value).toBe(49152);
  });

  it("a vocab override that disagrees with the source, or a source without tokens, is refused", () => {
    expect(() => synthShapeOf({ shape: "tiny", overrides: { vocab: 320 }, type: "f32", seed: 1, vocabFrom: load(GPT2) })).toThrow(/conflicts/);
    expect(synthShapeOf({ shape: "tiny", overrides: { vocab: 50257 }, type: "f32", seed: 1, vocabFrom: load(GPT2) }).vocab).toBe(50257);
    const noTokens = writeGguf({ metadata: [["general.architecture", gguf.str("llama")]], tensors: [] });
    expect(() => synthModel({ shape: "tiny", type: "f32", seed: 1, vocabFrom: noTokens })).toThrow(/no tokenizer.ggml.tokens/);
  });

  it("llama-spm: the engine loads the model and tokenizes as llama.cpp does", () => {
    const source = readGguf(load(LLAMA_SPM));
    const bytes = synthModel({ shape: "tiny", type: "q4_0", seed: 1, vocabFrom: source });
    const f = readGguf(bytes);
    expectVocabOf(f, source);
    const model = LlamaModel.load(f, createBackend("ref"));
    expect(model.config.vocabSize).toBe(32000);
    expect(model.tokenizer.vocabSize).toBe(32000);
    // ggml-vocab-llama-spm.gguf.out: "Hello world" is 15043 3186 in llama.cpp.
    expect(model.tokenizer.encode("Hello world", { addBos: false })).toEqual([15043, 3186]);
    const ctx = new LlamaContext(model, { nCtx: 8 });
    ctx.append([1, 15043, 3186]);
    const logits = ctx.nextLogits();
    expect(logits.length).toBe(32000);
    expect(logits.every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!set.available)("model:synth --vocab-from", () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), "model-synth-vocab-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the same bytes as the library", async () => {
    const out = join(dir, "tiny-smollm2.gguf");
    const path = findFixture(SMOLLM2)!;
    const { stdout } = await run("node_modules/.bin/tsx", ["scripts/model-synth.ts", "--shape", "tiny", "--type", "q8_0", "--seed", "3", "--vocab-from", path, "--out", out]);
    expect(stdout).toContain(`vocab 49152 from ${path}`);
    expect(sha(readFileSync(out))).toBe(sha(synthModel({ shape: "tiny", type: "q8_0", seed: 3, vocabFrom: load(SMOLLM2) })));
  });
});
