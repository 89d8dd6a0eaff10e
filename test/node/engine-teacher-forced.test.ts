// Teacher-forced 128-token runs against llama.cpp (npm run oracle): every row of logits, ref and both wasm builds, ggml numerics.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { createBackend } from "../../src/backends/select";
import { findFixture, optionalFixtures, readFixture, readFixtureText } from "../helpers/fixtures";
import { LlamaCpp } from "../../scripts/lib/llama-cpp";

/** The layout scripts/oracle.ts writes (only the fields read here). */
interface TfOracle {
  promptIds: number[];
  generatedIds: number[];
  logits: number[][];
  /** The ggml CPU build that made it (scripts/oracle.ts records it as tool.cpuVariant). */
  tool?: { cpuVariant?: string };
}

// The ref backend reproduces ggml's AVX-512 builds (their expf, FMA and lane order); an oracle made by an AVX2-only
// build (e.g. "haswell" on a CPU without AVX-512) differs from those by single rounding flips itself (8e-3·S on
// stories260K-Q8_0), so against such an oracle only the 3e-2·S bound applies.
const AVX512_VARIANTS = new Set(["skylakex", "cascadelake", "cooperlake", "icelake", "sapphirerapids", "zen4"]);
// The ref backend's BF16 dot is ggml_vec_dot_bf16's AVX512_BF16 path (_mm512_dpbf16_ps); the other AVX-512 builds
// compile its AVX512F path (16-lane mul+add over 32 elements), another summation order.
const AVX512_BF16_VARIANTS = new Set(["cooperlake", "sapphirerapids", "zen4"]);

// The oracles: llama.cpp v0.4.0's greedy continuation of each public prompt up to 128 tokens, one token per decode,
// F32 KV cache, no flash attention, 1 thread; row p is llama.cpp's logits after tokens 0..p (7 significant digits).
const PROMPTS = ["once", "lily"] as const; // "Once upon a time", "Lily and Tom went to the park"
const STORIES = ["stories260K", "stories260K-Q8_0", "stories260K-Q4_0"];
const KQUANT = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"].map((t) => `kquant-gqa-${t}`);
const BACKENDS = ["ref", "wasm-simd128", "wasm-relaxed"] as const;

// Bound: 1e-5·S, S = max(1, max |llama.cpp logit|). Where a backend reproduces ggml's arithmetic bit for bit only the
// oracle's 7-digit rounding and an occasional last-bit difference are left (≤ 4e-7·S measured), so 1e-5·S is what
// "computes what llama.cpp computes" means.
const TOL = 1e-5;

// Where the bound holds. The ref backend in "ggml" mode runs ggml's single-token AVX-512 path op for op:
// Q8_0/Q5_0/Q4_1/Q5_1 (8-lane vec_dot, Q8_1's f16 s-term), Q4_0 (repacked 8×8 gemv or 8-lane vec_dot), Q4_K
// (repacked q4_K_8x8 gemv: exact integer sums, FMA'd scale and min accumulators, one subtraction at the end),
// Q5_K/Q6_K (8 integer lanes per super-block), F16 and BF16 (ggml_vec_dot_bf16's two _mm512_dpbf16_ps accumulators,
// odd element of each pair first) dots, rmsnorm, rope (f32 theta products, glibc's cosf/sinf, FMA), softmax and silu
// (ggml_v_expf), kq/kqv sums (src/backends/ref/ggml-*.ts, src/backends/glibc-sincosf.ts). Measured on this zen4
// oracle: the 12 quantized and half-precision kquant-gqa files bit-identical to llama.cpp on every row of both
// prompts (0·S; those oracles are made on the spot, full f32), kquant-gqa F32 ≤ 2.4e-7·S (F32 matmuls are plain f64
// sums here), the stored stories260K oracles ≤ 6e-7·S (their 7 printed digits).
// The F32 files need no activation rounding and hold on every backend.
const EXACT: Record<(typeof BACKENDS)[number], Set<string>> = {
  ref: new Set(["stories260K", "stories260K-Q8_0", "stories260K-Q4_0", ...KQUANT]),
  "wasm-simd128": new Set(["stories260K", "kquant-gqa-F32"]),
  "wasm-relaxed": new Set(["stories260K", "kquant-gqa-F32"]),
};

// Everywhere else, measured max over the 128 rows (this x86 zen4 oracle): wasm on stories260K-Q8_0/Q4_0 1.1e-2/1.5e-2·S, kquant F16 3e-4·S,
// Q8_0 8.7e-3·S, Q4_0 7.7e-3·S, Q4_K 1.1e-2·S, Q6_K 5.7e-3·S, Q4_K_M 1.2e-2·S. The cause: those sums (4-lane f32
// in wasm) and wasm's f64 rope / own expf differ from ggml's f32 SIMD order by an ulp; where such a value lies within
// an ulp of a Q8 (or f16) rounding boundary, one activation rounds to the neighbouring step (0.3–1 % of S on the
// logits), and the K/V of that row carry it on. Held there to the oracle README's bound for activation-quantizing
// engines, 3e-2·S, plus llama.cpp's own next token wherever its top-1/top-2 margin exceeds that bound.
const NEAR_TOL = 3e-2;

/** kquant-gqa types the wasm backend loads today (K-quant and legacy kernels are being added). */
const WASM_KQUANT = new Set(["F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q4_K_M"].map((t) => `kquant-gqa-${t}`));

const models = new Map<string, LlamaModel>();
function load(file: string, backend: string): LlamaModel {
  const key = `${file}:${backend}`;
  let m = models.get(key);
  if (!m) models.set(key, (m = LlamaModel.load(readFixture(file), backend === "ref" ? new RefBackend({ activations: "ggml" }) : createBackend(backend))));
  return m;
}

/** Max |Δ| over every row in units of S, the first row over TOL (-1: none), and rows whose argmax differs where llama.cpp's margin is clear. */
function compare(model: LlamaModel, oracle: TfOracle): { worst: number; firstBad: number; argmaxMisses: number[] } {
  const tokens = [...oracle.promptIds, ...oracle.generatedIds];
  const got = new LlamaContext(model, { nCtx: 256 }).evaluate(tokens, { allLogits: true });
  const vocab = oracle.logits[0]!.length;
  const scale = Math.max(1, ...oracle.logits.map((r) => Math.max(...r.map(Math.abs))));
  let worst = 0;
  let firstBad = -1;
  const argmaxMisses: number[] = [];
  oracle.logits.forEach((row, p) => {
    let d = 0;
    let ours = 0;
    for (let i = 0; i < vocab; i++) {
      d = Math.max(d, Math.abs(got[p * vocab + i]! - row[i]!));
      if (got[p * vocab + i]! > got[p * vocab + ours]!) ours = i;
    }
    if (d > TOL * scale && firstBad < 0) firstBad = p;
    worst = Math.max(worst, d / scale);
    const sorted = [...row].sort((a, b) => b - a);
    if (sorted[0]! - sorted[1]! > NEAR_TOL * scale && row[ours] !== sorted[0]) argmaxMisses.push(p);
  });
  return { worst, firstBad, argmaxMisses };
}

function cases(name: string, modelFile: string, oracleOf: (prompt: (typeof PROMPTS)[number]) => TfOracle): void {
  describe.each(BACKENDS.filter((b) => b === "ref" || !name.startsWith("kquant") || WASM_KQUANT.has(name)))(`${name} on %s`, (backend) => {
    it.each(PROMPTS)(`%s: every row within ${EXACT[backend].has(name) ? "1e-5" : "3e-2"}·S of llama.cpp`, (prompt) => {
      const oracle = oracleOf(prompt);
      const variant = oracle.tool?.cpuVariant ?? "";
      const exact = EXACT[backend].has(name) && AVX512_VARIANTS.has(variant) && (!name.endsWith("-BF16") || AVX512_BF16_VARIANTS.has(variant));
      const { worst, firstBad, argmaxMisses } = compare(load(modelFile, backend), oracle);
      console.log(`${name}/${prompt}/${backend}: max ${worst.toExponential(2)}·S${firstBad >= 0 ? `, first row over 1e-5·S: ${firstBad}` : ""}; bound ${exact ? TOL : NEAR_TOL}·S (oracle from ${oracle.tool?.cpuVariant})`);
      expect(worst).toBeLessThanOrEqual(exact ? TOL : NEAR_TOL);
      expect(argmaxMisses).toEqual([]);
    });
  });
}

describe("teacher-forced stories260K (core fixtures)", () => {
  for (const name of STORIES) cases(name, `${name}.gguf`, (p) => JSON.parse(readFixtureText(`oracle/${name}-tf128-${p}.json`)) as TfOracle);
});

// The kquant-gqa models are not shipped, and neither are their oracles (~700 KB each): where the model is present,
// the oracle is read from the model directory (oracle/kquant-gqa-<T>-tf128-<prompt>.json, as `npm run oracle` writes
// it) or, when absent there, made on the spot by the same llama.cpp runner (scripts/lib/llama-cpp.ts).
const PROMPT_TEXT: Record<(typeof PROMPTS)[number], string> = { once: "Once upon a time", lily: "Lily and Tom went to the park" };
function kquantOracle(name: string, prompt: (typeof PROMPTS)[number]): TfOracle {
  const file = findFixture(`oracle/${name}-tf128-${prompt}.json`);
  if (file) return JSON.parse(readFileSync(file, "utf8")) as TfOracle;
  const llama = new LlamaCpp(findFixture(`oracle/${name}.gguf`)!, { nCtx: 256 });
  try {
    const promptIds = llama.tokenize(PROMPT_TEXT[prompt]);
    const { generated, logits } = llama.greedy(promptIds, 128 - promptIds.length);
    return { promptIds, generatedIds: generated, logits: logits.map((r) => Array.from(r)), tool: { cpuVariant: llama.cpuVariant } };
  } finally {
    llama.free();
  }
}

for (const name of KQUANT) {
  const set = optionalFixtures([`oracle/${name}.gguf`]);
  describe.skipIf(!set.available)(`teacher-forced ${name}`, () => {
    cases(name, `oracle/${name}.gguf`, (p) => kquantOracle(name, p));
  });
}
