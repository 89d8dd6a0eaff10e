// Loads llama.cpp's reference outputs and logit oracles (core fixtures shipped in test/fixtures/models, see fixtures.ts).
import { readFixture, readFixtureText } from "./fixtures";
import { LlamaModel } from "../../src/engine/model";
import { RefBackend, type RefBackendOptions } from "../../src/backends/ref/ref-backend";

export interface ReferenceRun {
  prompt: string;
  promptTokens: number[];
  generatedTokens: number[];
  generatedText: string;
  minTop1Top2LogitMargin: number;
  minMarginAtGeneratedIndex: number;
  top5AtFirstGeneratedPosition: { id: number; rawLogit: number }[];
}
export interface ReferenceModel {
  file: string;
  runs: ReferenceRun[];
  timingPromptTokens: number[];
}

export function referenceOutputs(): ReferenceModel[] {
  return JSON.parse(readFixtureText("reference-outputs.json")).models as ReferenceModel[];
}

export function referenceFor(file: string): ReferenceModel {
  const m = referenceOutputs().find((r) => r.file === file);
  if (!m) throw new Error(`reference-outputs.json has no entry for ${file}`);
  return m;
}

export interface LogitOracle {
  model: string;
  promptIds: number[];
  kvF32: { logitsAllPositions: number[][] };
  dequantF32?: { logitsAllPositions: number[][] };
  default: { logitsAllPositions: number[][] };
  greedy?: { generatedIds: number[]; minTop1Top2Margin: number; minMarginIndex: number };
}

export function logitOracle(name: string): LogitOracle {
  return JSON.parse(readFixtureText(`oracle/${name}.logits.json`)) as LogitOracle;
}

const cache = new Map<string, LlamaModel>();

/** Loads (once per test file and mode) a fixture model on the ref backend. */
export function loadRefModel(file: string, options: RefBackendOptions = {}): LlamaModel {
  const key = `${file}:${options.activations ?? "ggml"}`;
  let model = cache.get(key);
  if (!model) {
    model = LlamaModel.load(readFixture(file), new RefBackend(options));
    cache.set(key, model);
  }
  return model;
}

/** Largest absolute difference between two logit vectors. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}
