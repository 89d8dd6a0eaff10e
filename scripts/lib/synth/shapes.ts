// Synthetic llama shapes: named presets (real models' sizes), per-field overrides, and the checks the engine needs.

/** Hyperparameters of a synthetic llama. */
export interface SynthShape {
  readonly name: string;
  readonly dim: number;
  readonly ffn: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
  readonly context: number;
  /** No output.weight: the engine uses token_embd as the classifier. */
  readonly tied: boolean;
  readonly ropeBase: number;
  /** RMSNorm epsilon; absent means RMS_EPS (kept optional so the original presets' bytes do not change). */
  readonly rmsEps?: number;
  /** GGUF general.architecture (src/engine/architectures.ts); absent means "llama". */
  readonly arch?: SynthArch;
  /** Width of one attention head (attention.key_length); absent means dim / heads. */
  readonly headDim?: number;
  /** Write llama 3's rope_freqs.weight (per-pair RoPE divisors, as Llama 3.x files carry). */
  readonly ropeFreqs?: boolean;
}

/** Architectures the generator writes: llama, qwen2 (q/k/v biases), qwen3 (per-head q/k norms). */
export const SYNTH_ARCHS = ["llama", "qwen2", "qwen3"] as const;
export type SynthArch = (typeof SYNTH_ARCHS)[number];

/** Head width of a shape: headDim when set, else dim / heads. */
export function headDimOf(s: SynthShape): number {
  return s.headDim ?? s.dim / s.heads;
}

/** Any field of a shape, replaced; `name` defaults to "<preset>-custom" when a size changes. */
export type SynthOverrides = Partial<SynthShape>;

/** Default RMSNorm epsilon (llama, SmolLM2, Llama 3.2). */
export const RMS_EPS = 1e-5;

const shape = (s: SynthShape): SynthShape => Object.freeze(s);

/**
 * The built-in shapes: real architectures' sizes (random weights) and a tiny one for tests. Only the sizes are real;
 * the architecture is always `llama` (src/engine runs nothing else), so Qwen2.5's attention biases and Llama 3.2's
 * llama3 RoPE scaling are not modelled. The SmolLM2 presets write context 2048 (their config says 8192; the
 * original smollm2-135m preset's bytes are pinned, and 360m matches it).
 */
export const SYNTH_SHAPES = Object.freeze({
  stories15M: shape({ name: "stories15M", dim: 288, ffn: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000, context: 256, tied: false, ropeBase: 10000 }),
  "smollm2-135m": shape({ name: "smollm2-135m", dim: 576, ffn: 1536, layers: 30, heads: 9, kvHeads: 3, vocab: 49152, context: 2048, tied: true, ropeBase: 100000 }),
  "smollm2-360m": shape({ name: "smollm2-360m", dim: 960, ffn: 2560, layers: 32, heads: 15, kvHeads: 5, vocab: 49152, context: 2048, tied: true, ropeBase: 100000 }),
  "llama-3.2-1b": shape({ name: "llama-3.2-1b", dim: 2048, ffn: 8192, layers: 16, heads: 32, kvHeads: 8, vocab: 128256, context: 131072, tied: true, ropeBase: 500000 }),
  "qwen2.5-0.5b": shape({ name: "qwen2.5-0.5b", dim: 896, ffn: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936, context: 32768, tied: true, ropeBase: 1000000, rmsEps: 1e-6 }),
  tiny: shape({ name: "tiny", dim: 64, ffn: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 320, context: 128, tied: false, ropeBase: 10000 }),
});
export type SynthShapeName = keyof typeof SYNTH_SHAPES;

/** The integer fields, with the CLI flag each one has. */
export const SHAPE_INT_FIELDS = Object.freeze({
  dim: "dim",
  ffn: "ffn",
  layers: "layers",
  heads: "heads",
  kvHeads: "kv-heads",
  vocab: "vocab",
  context: "context",
} as const);

/** A shape by preset name or as given; throws naming the known presets. */
export function presetShape(s: SynthShapeName | SynthShape): SynthShape {
  const sh = typeof s === "string" ? (Object.hasOwn(SYNTH_SHAPES, s) ? SYNTH_SHAPES[s] : undefined) : s;
  if (!sh) throw new RangeError(`unknown shape "${String(s)}"; known: ${Object.keys(SYNTH_SHAPES).join(", ")}`);
  return sh;
}

/** Checks what the engine and the GGUF format need: positive sizes, an even head size, whole KV groups. */
export function checkShape(sh: SynthShape): SynthShape {
  const ints = Object.keys(SHAPE_INT_FIELDS).map((k) => [k, sh[k as keyof typeof SHAPE_INT_FIELDS]] as const);
  for (const [k, v] of ints) {
    // u32 metadata: sizes must fit (llama-3.2-1b's context 131072 does).
    if (!Number.isInteger(v) || v <= 0 || v > 0xffffffff) throw new RangeError(`shape ${sh.name}: ${k} must be a positive integer, got ${v}`);
  }
  if (sh.headDim !== undefined && !(Number.isInteger(sh.headDim) && sh.headDim > 0)) throw new RangeError(`shape ${sh.name}: headDim must be a positive integer, got ${sh.headDim}`);
  if ((sh.headDim === undefined && sh.dim % sh.heads !== 0) || sh.heads % sh.kvHeads !== 0 || headDimOf(sh) % 2 !== 0) {
    throw new RangeError(`shape ${sh.name}: dim must split into an even head size (or headDim be given) and heads into KV groups`);
  }
  if (sh.arch !== undefined && !SYNTH_ARCHS.includes(sh.arch)) throw new RangeError(`shape ${sh.name}: unknown arch "${sh.arch}"; known: ${SYNTH_ARCHS.join(", ")}`);
  if (!(sh.ropeBase > 0 && Number.isFinite(sh.ropeBase))) throw new RangeError(`shape ${sh.name}: ropeBase must be a positive number, got ${sh.ropeBase}`);
  if (sh.rmsEps !== undefined && !(sh.rmsEps > 0 && Number.isFinite(sh.rmsEps))) {
    throw new RangeError(`shape ${sh.name}: rmsEps must be a positive number, got ${sh.rmsEps}`);
  }
  if (typeof sh.tied !== "boolean") throw new RangeError(`shape ${sh.name}: tied must be a boolean`);
  return sh;
}

/** A preset (or shape) with overrides applied and checked; changed sizes rename it "<name>-custom" unless named. */
export function resolveShape(s: SynthShapeName | SynthShape, overrides: SynthOverrides = {}): SynthShape {
  const base = presetShape(s);
  const set = Object.entries(overrides).filter(([, v]) => v !== undefined);
  if (set.length === 0) return checkShape(base);
  const changed = set.some(([k, v]) => k !== "name" && base[k as keyof SynthShape] !== v);
  const merged: SynthShape = { ...base, ...Object.fromEntries(set) };
  const name = overrides.name ?? (changed ? `${base.name}-custom` : base.name);
  return checkShape(Object.freeze({ ...merged, name }));
}
