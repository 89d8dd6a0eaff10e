// LlamaConfig from GGUF metadata: real values, and an error naming the key for each missing or invalid one.
import { describe, expect, it } from "vitest";
import { readGguf, type GgufFile } from "../../src/gguf/index";
import { GgufValueType, type GgufValue } from "../../src/gguf/types";
import { configFromGguf } from "../../src/engine/config";
import { ModelError } from "../../src/engine/errors";
import { loadWeights } from "../../src/engine/weights";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { readFixture } from "../helpers/fixtures";

const stories = readGguf(readFixture("stories260K.gguf"));

/** A copy of a parsed file with some metadata replaced or removed (undefined removes). */
function withMetadata(file: GgufFile, changes: Record<string, GgufValue | undefined>): GgufFile {
  const metadata = new Map(file.metadata);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) metadata.delete(k);
    else metadata.set(k, v);
  }
  return { ...file, metadata };
}

const u32 = (value: number): GgufValue => ({ type: GgufValueType.UINT32, value });

describe("configFromGguf", () => {
  it("reads stories260K", () => {
    const c = configFromGguf(stories);
    expect(c).toMatchObject({ dim: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, kvDim: 32, qDim: 64, ffnDim: 172, vocabSize: 512, nCtxTrain: 2048, ropeDims: 8, ropeFreqBase: 10000, ropeFreqScale: 1, tiedOutput: false });
    expect(c.rmsEps).toBeCloseTo(1e-5, 10);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ["llama.embedding_length", /missing metadata key llama\.embedding_length/],
    ["llama.block_count", /missing metadata key llama\.block_count/],
    ["llama.attention.head_count", /missing metadata key llama\.attention\.head_count/],
    ["llama.attention.layer_norm_rms_epsilon", /missing metadata key llama\.attention\.layer_norm_rms_epsilon/],
    ["general.architecture", /missing metadata key general\.architecture/],
  ])("missing %s is named", (key, message) => {
    expect(() => configFromGguf(withMetadata(stories, { [key]: undefined }))).toThrowError(message);
  });

  it.each([
    [{ "general.architecture": { type: GgufValueType.STRING, value: "gpt2" } as GgufValue }, /unsupported architecture "gpt2"/],
    [{ "llama.attention.head_count_kv": u32(3) }, /head_count \(8\) must be a multiple of llama\.attention\.head_count_kv \(3\)/],
    [{ "llama.embedding_length": u32(0) }, /llama\.embedding_length must be a positive integer/],
    [{ "llama.rope.dimension_count": u32(9) }, /rope\.dimension_count \(9\) must be even/],
    [{ "llama.rope.scaling.type": { type: GgufValueType.STRING, value: "yarn" } as GgufValue }, /unsupported llama\.rope\.scaling\.type "yarn"/],
  ])("invalid metadata %j is refused", (changes, message) => {
    expect(() => configFromGguf(withMetadata(stories, changes))).toThrowError(message);
  });

  it("a tensor shape mismatch names the tensor and both shapes", () => {
    const config = { ...configFromGguf(stories), ffnDim: 128 };
    expect(() => loadWeights(stories, config, new RefBackend())).toThrowError(/tensor blk\.0\.ffn_gate\.weight has shape \[64, 172\], expected \[64, 128\]/);
  });

  it("a missing tensor is named", () => {
    const tensorByName = new Map(stories.tensorByName);
    tensorByName.delete("blk.3.attn_v.weight");
    expect(() => loadWeights({ ...stories, tensorByName }, configFromGguf(stories), new RefBackend())).toThrowError(ModelError);
    expect(() => loadWeights({ ...stories, tensorByName }, configFromGguf(stories), new RefBackend())).toThrowError(/missing tensor blk\.3\.attn_v\.weight/);
  });
});
