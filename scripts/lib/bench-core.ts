// Benchmark core, runtime-agnostic (Node and workerd): the model catalogue, one timed prefill+decode run, and rows.
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { createBackend } from "../../src/backends/select";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { ggmlTypeName, readGguf, writeGguf } from "../../src/gguf/index";
import { kvBytesPerPosition, kvLayoutProblem, type KvType } from "../../src/backends/kv-format";
import { synthModel, type SynthOverrides, type SynthShapeName, type SynthTypeName } from "./synth/model";
import { quantizeModel } from "./quantize-model";
import type { QuantMix } from "./quant-mix";
import { median, type PairedRatio } from "./bench-pairing";

/** Tokens/s of each timed run, in run order; the row's figures are their medians. */
export interface BenchSamples {
  prefill_tokens_per_s: number[];
  decode_tokens_per_s: number[];
}

/** One row of `npm run bench -- --json` (the report's `rows`). Fields after peak_memory_bytes say how it was measured. */
export interface BenchRow {
  model: string;
  type: string;
  backend: string;
  runtime: string;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  weights_bytes: number;
  /** Wasm: the whole linear memory at the end (weights, KV, scratch, slack). Ref: weights + buffers + one context's KV. */
  peak_memory_bytes: number;
  /** Tokens actually prefilled / decoded per run (ref uses fewer on big shapes; see REF_CAPS). */
  prefill_tokens: number;
  decode_tokens: number;
  runs: number;
  samples: BenchSamples;
  /** With --vs-llama-cpp: per phase, the median (min, max) of ours / llama.cpp over runs adjacent in time (bench-pairing.ts). */
  paired_ratio?: PairedRatio;
}

/** A benchmark model: a file in the model directory, or a synthetic one generated in memory (seed 1). */
export type BenchModelSpec =
  | { readonly id: string; readonly kind: "file"; readonly file: string }
  | {
      readonly id: string;
      readonly kind: "synth";
      readonly shape: SynthShapeName;
      readonly type: SynthTypeName;
      readonly mix?: QuantMix;
      readonly overrides?: SynthOverrides;
    };

/**
 * A shape whose widths are whole 256-blocks (stories15M's 288 and SmolLM2's 576 are not, so llama.cpp's K-quant mixes
 * of them are mostly Q5_0/Q5_1/Q8_0 fallbacks): K-quant kernels are timed on it, beside Q4_0 of the same shape.
 */
const K256: SynthOverrides = { name: "k256", dim: 512, ffn: 1536, layers: 4, heads: 8, kvHeads: 4, vocab: 8192, context: 512, tied: false };

/** The catalogue, by id (`--models` takes these ids, or any .gguf file name in the model directory). */
export const BENCH_MODELS: readonly BenchModelSpec[] = [
  { id: "stories260K", kind: "file", file: "stories260K.gguf" },
  { id: "stories260K-Q8_0", kind: "file", file: "stories260K-Q8_0.gguf" },
  { id: "stories260K-Q4_0", kind: "file", file: "stories260K-Q4_0.gguf" },
  { id: "stories15M-Q8_0", kind: "synth", shape: "stories15M", type: "q8_0" },
  { id: "stories15M-Q4_0", kind: "synth", shape: "stories15M", type: "q4_0" },
  { id: "smollm2-135m-Q4_0", kind: "synth", shape: "smollm2-135m", type: "q4_0" },
  // llama.cpp's mixes of the F32 synthetic model (model:quantize's rules; ~30 s each to make).
  { id: "k256-Q4_0", kind: "synth", shape: "tiny", overrides: K256, type: "f32", mix: "q4_0" },
  { id: "k256-Q4_K_M", kind: "synth", shape: "tiny", overrides: K256, type: "f32", mix: "q4_k_m" },
  { id: "k256-Q5_K_M", kind: "synth", shape: "tiny", overrides: K256, type: "f32", mix: "q5_k_m" },
  { id: "k256-Q6_K", kind: "synth", shape: "tiny", overrides: K256, type: "f32", mix: "q6_k" },
  // Not in the default matrix: mostly Q5_0 fallbacks (rows of 288), and stories15M's mix takes ~20 s to make.
  { id: "stories15M-Q4_K_M", kind: "synth", shape: "stories15M", type: "f32", mix: "q4_k_m" },
  // What a SmolLM2 user's K-quant file looks like (rows of 576: mostly Q5_0 / Q5_1 fallbacks); ~20 s each to make.
  { id: "smollm2-135m-Q4_K_M", kind: "synth", shape: "smollm2-135m", type: "f32", mix: "q4_k_m" },
  { id: "smollm2-135m-Q5_K_M", kind: "synth", shape: "smollm2-135m", type: "f32", mix: "q5_k_m" },
  // Its Q6_K file: ffn_down (rows of 1,536) in Q6_K, the rest Q8_0 fallbacks.
  { id: "smollm2-135m-Q6_K", kind: "synth", shape: "smollm2-135m", type: "f32", mix: "q6_k" },
  // Test-only shapes (not in the default matrix).
  { id: "tiny-Q8_0", kind: "synth", shape: "tiny", type: "q8_0" },
  { id: "tiny-Q4_0", kind: "synth", shape: "tiny", type: "q4_0" },
];
const NOT_DEFAULT = new Set(["stories15M-Q4_K_M", "smollm2-135m-Q4_K_M", "smollm2-135m-Q5_K_M", "smollm2-135m-Q6_K"]);
export const DEFAULT_MODELS = BENCH_MODELS.filter((m) => !m.id.startsWith("tiny") && !NOT_DEFAULT.has(m.id)).map((m) => m.id);
export const DEFAULT_BACKENDS = ["ref", "wasm-simd128", "wasm-relaxed", "webgpu"];

/**
 * The reference backend is plain TypeScript and ~100x slower than wasm on big shapes: there it prefills one batch
 * (32 tokens) and decodes 16. Tokens/s of a shorter run is the same measure (KV length changes cost little here).
 */
export const REF_CAPS: Readonly<Record<string, { prefill: number; decode: number }>> = {
  "smollm2-135m": { prefill: 32, decode: 16 },
};

export function findModel(id: string): BenchModelSpec {
  const spec = BENCH_MODELS.find((m) => m.id === id);
  if (spec) return spec;
  if (id.endsWith(".gguf")) return { id: id.replace(/\.gguf$/, ""), kind: "file", file: id };
  throw new Error(`unknown bench model "${id}"; known: ${BENCH_MODELS.map((m) => m.id).join(", ")} or a .gguf file name`);
}

/** Display name: synthetic models are marked as such. */
export function modelLabel(spec: BenchModelSpec): string {
  if (spec.kind === "file") return spec.file;
  const shape = spec.overrides?.name ?? spec.shape;
  return spec.mix ? `${shape} (synth, ${spec.mix.toUpperCase()} mix)` : `${shape} (synth)`;
}

/** The model's bytes: generated deterministically (seed 1) or read through `readFile` (model directory). */
export function modelBytes(spec: BenchModelSpec, readFile: (name: string) => Uint8Array): Uint8Array {
  if (spec.kind === "file") return readFile(spec.file);
  const bytes = synthModel({ shape: spec.shape, ...(spec.overrides && { overrides: spec.overrides }), type: spec.type, seed: 1 });
  return spec.mix ? writeGguf(quantizeModel(readGguf(bytes), { type: spec.mix }).spec) : bytes;
}

/** Re-exported for the bench modules that take it from here (defined where the docs renderer can load it cheaply). */
export { median };

export function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Weight type of the file: the type of its first attention projection (a file can mix types). */
export function modelType(model: LlamaModel): string {
  return ggmlTypeName(model.weights.layers[0]!.wq.type);
}

/** A fixed pseudo-random prompt of in-vocabulary ids (speed does not depend on the text). */
export function benchPrompt(vocabSize: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 + ((i * 7919 + 13) % (vocabSize - 1)));
}

/**
 * One context's life, split in phases so a caller outside the isolate (workerd) can time each one itself. Each step
 * is a greedy request's: the passes, then the pick of the last row by LlamaContext.nextPick (the backend's argmax
 * where the row lies, src/engine/generate.ts's greedy path), so no row is read out and no JS loop scans it.
 */
export class BenchSession {
  private ctx: LlamaContext;
  private next = -1;
  constructor(
    readonly model: LlamaModel,
    readonly prompt: readonly number[],
    readonly decode: number,
    kvType: KvType = "f32",
  ) {
    this.ctx = new LlamaContext(model, { nCtx: prompt.length + decode + 1, kvType });
  }
  /** The type the context's KV cache stores (what the run measured). */
  get kvType(): KvType {
    return this.ctx.cache.layout.type ?? "f32";
  }
  prefill(): void {
    this.ctx.append(this.prompt);
    this.next = this.pick();
  }
  decodeAll(): void {
    for (let i = 0; i < this.decode; i++) {
      this.ctx.append([this.next]);
      this.next = this.pick();
    }
  }
  private pick(): number {
    const { token } = this.ctx.nextPick();
    if (token < 0) throw new Error("bench: the model gave no finite logit");
    return token;
  }
  dispose(): void {
    this.ctx.dispose();
  }
}

/** One timed run with the given clock: prefill the prompt in one evaluate (batches of 32), then greedy-decode. */
export function runOnce(model: LlamaModel, prompt: readonly number[], decode: number, kvType: KvType = "f32", now: () => number = () => performance.now()) {
  const s = new BenchSession(model, prompt, decode, kvType);
  const t0 = now();
  s.prefill();
  const t1 = now();
  s.decodeAll();
  const t2 = now();
  s.dispose();
  return { prefill: (prompt.length * 1000) / (t1 - t0), decode: (decode * 1000) / (t2 - t1) };
}

export interface BenchOptions {
  readonly prefill: number;
  readonly decode: number;
  readonly runs: number;
  readonly warmup: number;
  readonly runtime: string;
  /** How our contexts' KV cache stores K and V (--kv-type; default f32, the product's default). */
  readonly kvType?: KvType;
}

/** Token counts for a model/backend pair after the ref caps. */
export function tokenCounts(spec: BenchModelSpec, backend: string, o: Pick<BenchOptions, "prefill" | "decode">) {
  // webgpu shares the caps: on a software adapter (CI, this VM) it is as slow as ref on the big shapes.
  const cap = (backend === "ref" || backend === "webgpu") && spec.kind === "synth" ? REF_CAPS[spec.shape] : undefined;
  return { prefill: Math.min(o.prefill, cap?.prefill ?? Infinity), decode: Math.min(o.decode, cap?.decode ?? Infinity) };
}

/** The KV layout of one context of `nCtx` positions of the model, stored as `kvType`. */
function kvLayout(model: LlamaModel, nCtx: number, kvType: KvType) {
  const c = model.config;
  return { nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim, type: kvType };
}

/** Why the model cannot take a `kvType` cache (q8_0 needs head dimensions divisible by 32), or null. */
export function kvTypeProblem(model: LlamaModel, kvType: KvType): string | null {
  return kvLayoutProblem(kvLayout(model, 1, kvType));
}

/**
 * Peak-memory figure of a loaded model with one context of `nCtx` positions whose cache stores `kvType`. Wasm: the
 * linear memory, which holds the cache as allocated. Others: weights + scratch + the cache's bytes in that type.
 */
export function peakMemory(model: LlamaModel, nCtx: number, kvType: KvType = "f32"): number {
  const backend = model.backend;
  if (backend instanceof WasmBackend) return backend.linearMemoryBytes;
  const mem = backend.memory();
  return mem.weightsBytes + mem.scratchBytes + nCtx * kvBytesPerPosition(kvLayout(model, nCtx, kvType));
}

/**
 * Loads `bytes` on the backend and measures: `warmup` untimed runs, then the median of `runs`. A model that cannot
 * take the chosen KV type gives no row (null), after a log line saying why.
 */
export function benchModel(spec: BenchModelSpec, bytes: Uint8Array, backendName: string, o: BenchOptions, log: (line: string) => void = () => {}): BenchRow | null {
  const model = LlamaModel.load(bytes, createBackend(backendName));
  const kvType = o.kvType ?? "f32";
  const problem = kvTypeProblem(model, kvType);
  if (problem) {
    log(`${spec.id} ${backendName}: skipped, ${problem}`);
    return null;
  }
  const n = tokenCounts(spec, backendName, o);
  const prompt = benchPrompt(model.config.vocabSize, n.prefill);
  for (let i = 0; i < o.warmup; i++) runOnce(model, prompt, n.decode, kvType);
  const results = Array.from({ length: o.runs }, () => runOnce(model, prompt, n.decode, kvType));
  return benchRow(spec, model, o, n, results);
}

/** The row of a measured model: medians of the runs' tokens/s, and its memory. */
export function benchRow(
  spec: BenchModelSpec,
  model: LlamaModel,
  o: BenchOptions,
  n: { prefill: number; decode: number },
  results: readonly { prefill: number; decode: number }[],
): BenchRow {
  return {
    model: modelLabel(spec),
    type: modelType(model),
    backend: model.backend.name,
    runtime: o.runtime,
    prefill_tokens_per_s: Math.round(median(results.map((r) => r.prefill))),
    decode_tokens_per_s: Math.round(median(results.map((r) => r.decode)) * 10) / 10,
    weights_bytes: model.backend.memory().weightsBytes,
    peak_memory_bytes: peakMemory(model, n.prefill + n.decode + 1, o.kvType),
    prefill_tokens: n.prefill,
    decode_tokens: n.decode,
    runs: o.runs,
    samples: benchSamples(results),
  };
}

/** The runs' tokens/s, rounded to 4 significant digits (the medians are taken from the unrounded values). */
export function benchSamples(results: readonly { prefill: number; decode: number }[]): BenchSamples {
  const r = (x: number) => Number(x.toPrecision(4));
  return { prefill_tokens_per_s: results.map((x) => r(x.prefill)), decode_tokens_per_s: results.map((x) => r(x.decode)) };
}
