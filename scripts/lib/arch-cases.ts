// The model families' proof cases: a tiny synthetic model per architecture with a real vocabulary, shared by the oracle script and the tests.
import type { SynthOptions } from "./synth/model";

export interface ArchCase {
  /** Oracle file name (test/fixtures/arch-oracles/<name>.json). */
  readonly name: string;
  /** Vocabulary-only GGUF in the model directory whose tokenizer.* keys the model takes. */
  readonly vocab: string;
  /** Generator options except the vocabulary (the weight type is per run: f32 for logits, q8_0 for greedy). */
  readonly synth: Omit<SynthOptions, "type" | "vocabFrom">;
  /** Greedy runs start here. */
  readonly prompt: string;
  /** Teacher-forced along this text: every position's logits are compared. */
  readonly text: string;
}

const small = { dim: 64, ffn: 128, layers: 2, heads: 4, kvHeads: 2, context: 256, tied: true } as const;

/** One case per family switch: llama 3 RoPE divisors, qwen2 biases, qwen3 q/k norms with wide heads, SmolLM2's vocabulary. */
export const ARCH_CASES: readonly ArchCase[] = [
  {
    name: "llama3-rope-freqs",
    vocab: "vocab/gpt-2-pre-llama-bpe.gguf",
    synth: { shape: "tiny", overrides: { ...small, name: "llama3-tiny", ropeBase: 500000, ropeFreqs: true }, seed: 3 },
    prompt: "Once upon a time, there was a little robot named Bolt.",
    text: "Once upon a time, there was a little robot named Bolt. He lived in a small town by the sea, and every morning he counted 1, 2, 3 waves!",
  },
  {
    name: "qwen2",
    vocab: "vocab/ggml-vocab-qwen2.gguf",
    synth: { shape: "tiny", overrides: { ...small, name: "qwen2-tiny", arch: "qwen2", ropeBase: 1000000, rmsEps: 1e-6 }, seed: 4 },
    prompt: "The quick brown fox jumps over the lazy dog. 你好",
    text: "The quick brown fox jumps over the lazy dog. 你好, 世界! Numbers like 12345 and 3.14159 split into digits; emoji 😀 too.",
  },
  {
    name: "qwen3",
    vocab: "vocab/ggml-vocab-qwen2.gguf",
    synth: { shape: "tiny", overrides: { ...small, name: "qwen3-tiny", arch: "qwen3", headDim: 32, ropeBase: 1000000, rmsEps: 1e-6 }, seed: 5 },
    prompt: "def fibonacci(n):\n    return n",
    text: "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  },
  {
    name: "smollm2",
    vocab: "vocab/smollm2.gguf",
    synth: { shape: "tiny", overrides: { ...small, name: "smollm2-tiny", ropeBase: 100000 }, seed: 6 },
    prompt: "Hello! How are you today?",
    text: "Hello! How are you today? I'm a small model, running at the edge. Let's count: one, two, three.",
  },
];

/** Weight types of the oracle runs: f32 (logits compared in the engine's f32 mode) and q8_0 (greedy in ggml mode). */
export const ARCH_RUN_TYPES = ["f32", "q8_0"] as const;
export type ArchRunType = (typeof ARCH_RUN_TYPES)[number];

/** Greedy steps after the prompt. */
export const ARCH_STEPS = 16;

/** Logit columns kept per row: llama.cpp's top ids at that row, then fixed ids spread over the vocabulary. */
export const ARCH_TOP_COLUMNS = 32;
export const ARCH_SPREAD_COLUMNS = 32;

export function spreadColumns(nVocab: number): number[] {
  return Array.from({ length: ARCH_SPREAD_COLUMNS }, (_, i) => Math.floor(((i + 0.5) * nVocab) / ARCH_SPREAD_COLUMNS));
}

/** One run of one case in the oracle file. */
export interface ArchRun {
  /** sha256 of the generated GGUF: a generator change that alters the bytes is caught before any logit is compared. */
  modelSha256: string;
  promptIds: number[];
  generatedIds: number[];
  /** BOS + the case's text: the teacher-forced tokens. */
  textIds: number[];
  /** Per teacher-forced row p (after tokens[0..p]): the kept columns, their logits, max |logit| of the whole row, and the top-1/top-2 margin. */
  rows: { cols: number[]; logits: number[]; scale: number; margin: number }[];
}

export interface ArchOracle {
  name: string;
  vocab: string;
  prompt: string;
  text: string;
  runs: Record<ArchRunType, ArchRun>;
  tool: Record<string, string | number | boolean>;
}
