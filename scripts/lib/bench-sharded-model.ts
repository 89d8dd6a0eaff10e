// The sharded bench's model files: synthetic shapes in llama.cpp's Q4_K_M mix (real vocabularies where shipped), made once and cached.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import type { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { GgmlType } from "../../src/gguf/ggml-types";
import { gguf, writeGguf, type GgufValue } from "../../src/gguf/index";
import { quantize } from "../../src/quant/index";
import { writeFileAtomic } from "./atomic-write";
import { findFixture } from "../../test/helpers/fixtures";
import { ROOT } from "./local-r2";
import { compareTensorNames, QUANTIZATION_VERSION } from "./quantize-model";
import { mixTensorType, QUANT_MIXES, type QuantMix } from "./quant-mix";
import { synthMetadata, synthShapeOf, synthTensors, type SynthOptions, type SynthShapeName, type SynthTypeName } from "./synth/model";

/** One model of the sharded bench: a synthetic shape, its weight type or mix, its vocabulary and the budget it runs at. */
export interface ShardedBenchModel {
  readonly id: string;
  readonly shape: SynthShapeName;
  /** Matrices of one type (fast to make) ... */
  readonly type?: SynthTypeName;
  /** ... or llama.cpp's mix of the F32 model, made tensor by tensor (never the whole F32 file in memory). */
  readonly mix?: QuantMix;
  /** A vocabulary fixture (test/fixtures or $EDGE_LLAMA_MODELS) whose tokenizer keys the file takes, when present. */
  readonly vocab?: string;
  /** MEMORY_BUDGET_MB of the shards. */
  readonly budgetMb: number;
}

export const SHARDED_MODELS: Readonly<Record<string, ShardedBenchModel>> = {
  // --quick: the shard-faults e2e model (8 shards at 8 MiB, made in seconds).
  "stories15M-Q8_0": { id: "stories15M-Q8_0", shape: "stories15M", type: "q8_0", budgetMb: 8 },
  "smollm2-360m-Q4_K_M": { id: "smollm2-360m-Q4_K_M", shape: "smollm2-360m", mix: "q4_k_m", vocab: "vocab/smollm2.gguf", budgetMb: 128 },
  // Llama 3's 128256-token BPE vocabulary (llama.cpp's llama-bpe vocab test file).
  "llama-3.2-1b-Q4_K_M": { id: "llama-3.2-1b-Q4_K_M", shape: "llama-3.2-1b", mix: "q4_k_m", vocab: "vocab/gpt-2-pre-llama-bpe.gguf", budgetMb: 128 },
};

/** Where generated files are kept between runs (git-ignored: build/). */
export const SHARDED_CACHE = join(ROOT, "build/bench-sharded");

/** The cached file's path, generating it first when missing (the same options always give the same bytes). */
export function shardedModelFile(m: ShardedBenchModel, log: (line: string) => void): string {
  const vocabPath = m.vocab ? findFixture(m.vocab) : undefined;
  const file = join(SHARDED_CACHE, `${m.id}${m.vocab && !vocabPath ? "-synthvocab" : ""}.gguf`);
  if (existsSync(file)) return file;
  mkdirSync(SHARDED_CACHE, { recursive: true });
  if (m.vocab && !vocabPath) log(`${m.id}: vocabulary ${m.vocab} not found, using the synthetic one`);
  const opts: SynthOptions = { shape: m.shape, type: m.mix ? "f32" : m.type!, seed: 1, ...(vocabPath && { vocabFrom: new Uint8Array(readFileSync(vocabPath)) }) };
  const t0 = performance.now();
  log(`${m.id}: generating ${file} (once; cached)`);
  writeFileAtomic(file, m.mix ? mixedModel(opts, m.mix, log) : writeGguf({ metadata: synthMetadata(opts), tensors: [...synthTensors(opts)] }));
  log(`${m.id}: made in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return file;
}

/**
 * The F32 synthetic model quantized with `mix` as scripts/lib/quantize-model.ts does (same types, tensor order and
 * metadata), one tensor at a time: a 1B-parameter model's F32 values never exist all at once.
 */
export function mixedModel(opts: SynthOptions, mix: QuantMix, log: (line: string) => void = () => {}): Uint8Array {
  const shape = synthShapeOf(opts);
  const model = { nLayers: shape.layers, nGqa: Math.max(1, Math.trunc(shape.heads / shape.kvHeads)), tiedEmbeddings: shape.tied };
  const tensors = [];
  for (const t of synthTensors(opts)) {
    const to = mixTensorType(t.name, t.dims, GgmlType.F32, mix, model, false);
    const f32 = new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
    tensors.push({ name: t.name, dims: t.dims, type: to, data: to === GgmlType.F32 ? t.data : quantize(to, f32) });
    if (t.name.endsWith(".attn_norm.weight")) log(`  ${t.name.split(".").slice(0, 2).join(".")} ...`);
  }
  tensors.sort((a, b) => compareTensorNames(a.name, b.name));
  const metadata: [string, GgufValue][] = synthMetadata(opts).filter(([k]) => k !== "general.quantization_version" && k !== "general.file_type");
  metadata.push(["general.quantization_version", gguf.u32(QUANTIZATION_VERSION)]);
  metadata.push(["general.file_type", gguf.u32(QUANT_MIXES[mix].fileType)]);
  return writeGguf({ metadata, tensors });
}

/** The single engine's greedy tokens for the prompt (temperature 0, the session's defaults otherwise): the sharded run's oracle. */
export async function greedyTokens(model: LlamaModel, prompt: readonly number[], n: number): Promise<number[]> {
  const ctx = new LlamaContext(model, { nCtx: prompt.length + n + 8 });
  try {
    const g = generate(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: n });
    let step = await g.next();
    while (!step.done) step = await g.next();
    return step.value.tokens;
  } finally {
    ctx.dispose();
  }
}
