// `npm run oracle`: llama.cpp's own greedy continuation of a prompt and its teacher-forced logits at every position, as small JSON.
//
// The oracle for "does our engine compute what llama.cpp computes": llama.cpp (the prebuilt CPU library of npm
// node-llama-cpp@3.21.1, release v0.4.0, see scripts/lib/llama-cpp.ts) runs with an F32 KV cache, flash attention
// off, one thread, one token per llama_decode. It continues the prompt greedily for --steps tokens (or until the
// sequence is --length tokens long), and every position's raw logits along prompt + continuation are written: row p
// is what llama.cpp predicts after tokens[0..p]. An engine fed the same tokens one at a time must reproduce each row.
//
// Numbers are float32 logits rounded to --digits significant digits (default 7: at most 5e-8 relative, 1/200 of the
// 1e-5·S the tests hold; a 128 × 512 oracle is ~650 KB). The JSON records the CPU variant (ggml's SIMD kernels differ
// between e.g. haswell/AVX2 and zen4/AVX-512 in summation order) and every setting.
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseFlags, UsageError } from "./lib/args";
import { writeFileAtomic } from "./lib/atomic-write";
import { LlamaCpp } from "./lib/llama-cpp";
import { modelPath } from "./lib/model-dir";

const USAGE = `usage: npm run oracle -- --model FILE (--prompt TEXT | --tokens ID,ID,...) [--steps N | --length N]
       [--digits D] [--ctx N] --out FILE.json
Runs llama.cpp (node-llama-cpp@3.21.1's prebuilt CPU library; F32 KV cache, no flash attention, 1 thread, one token
per decode): greedy continuation of the prompt for N steps (default 128), or up to N tokens in all with --length,
then writes llama.cpp's raw logits at every position of prompt + continuation, rounded to D significant digits
(default 7). --prompt is tokenized as the models/oracle files were: BOS + llama_tokenize(text, no special tokens).
--tokens takes the ids as given (include BOS yourself). FILE is a path (as given, if it exists), or a name inside the model directory
($EDGE_LLAMA_MODELS, default ./models). EDGE_LLAMA_CPU_VARIANT=haswell|zen4|... picks ggml's CPU kernels.`;

/** The file's layout; tests read it (test/node/engine-teacher-forced.test.ts). */
export interface TeacherForcedOracle {
  model: string;
  prompt: string | null;
  promptIds: number[];
  generatedIds: number[];
  /** prompt + continuation as text (llama.cpp's pieces). */
  text: string;
  /** logits[p][t]: llama.cpp's logit of token t after tokens[0..p], p over prompt + continuation. */
  logits: number[][];
  digits: number;
  tool: Record<string, string | number | boolean>;
}

function round(x: number, digits: number): number {
  return Number(x.toPrecision(digits));
}

function main(): void {
  const { flags } = parseFlags(process.argv.slice(2), {
    model: "string",
    prompt: "string",
    tokens: "string",
    steps: "number",
    length: "number",
    digits: "number",
    ctx: "number",
    out: "string",
    help: "boolean",
  });
  if (flags.help) return void console.log(USAGE);
  if (!flags.model || !flags.out || (flags.prompt === undefined) === (flags.tokens === undefined)) throw new UsageError("need --model, --out and one of --prompt / --tokens");
  const digits = flags.digits ?? 7;
  const path = existsSync(flags.model) ? resolve(flags.model) : modelPath(flags.model);
  const llama = new LlamaCpp(path, { nCtx: flags.ctx ?? 512, threads: 1 });
  try {
    const promptIds = flags.tokens !== undefined ? flags.tokens.split(",").map((s) => Number(s.trim())) : llama.tokenize(flags.prompt!);
    if (promptIds.some((id) => !Number.isInteger(id) || id < 0 || id >= llama.nVocab)) throw new UsageError(`--tokens must be ids in [0, ${llama.nVocab})`);
    const steps = flags.length !== undefined ? flags.length - promptIds.length : (flags.steps ?? 128);
    if (steps < 0) throw new UsageError(`--length ${flags.length} is shorter than the prompt (${promptIds.length} tokens)`);
    const { generated, logits } = llama.greedy(promptIds, steps);
    const oracle: TeacherForcedOracle = {
      model: basename(path),
      prompt: flags.prompt ?? null,
      promptIds,
      generatedIds: generated,
      text: [...promptIds, ...generated].map((id) => llama.piece(id)).join(""),
      logits: logits.map((row) => Array.from(row, (x) => round(x, digits))),
      digits,
      tool: {
        llamaCpp: "v0.4.0 (npm node-llama-cpp@3.21.1, @node-llama-cpp/linux-x64 prebuilt CPU library)",
        cpuVariant: llama.cpuVariant,
        threads: llama.threads,
        kvCache: "F32",
        flashAttention: false,
        decode: "one token per llama_decode",
        nCtx: llama.nCtx,
      },
    };
    // One field per line and one logit row per line: readable diffs, and JSON.parse stays fast.
    const fields = Object.entries(oracle).map(([k, v]) => (k === "logits" ? `"logits": [\n${oracle.logits.map((r) => JSON.stringify(r)).join(",\n")}\n]` : `${JSON.stringify(k)}: ${JSON.stringify(v)}`));
    writeFileAtomic(flags.out, new TextEncoder().encode(`{\n${fields.join(",\n")}\n}\n`));
    console.log(`${flags.out}: ${logits.length} rows × ${llama.nVocab} logits (${llama.cpuVariant}); ${oracle.text.length} chars of text`);
  } finally {
    llama.free();
  }
}

try {
  main();
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  throw e;
}
