// `npm run oracle:kv`: llama.cpp's teacher-forced logits with an F16 and a Q8_0 KV cache, the oracle of test/node/kv-types-oracle.test.ts.
//
// llama.cpp (node-llama-cpp@3.21.1's prebuilt CPU library, v0.4.0; scripts/lib/llama-cpp.ts), one thread, one token per
// decode, greedy continuation of a short prompt; each run's logits at every position, 7 significant digits.
// - models/stories260K.gguf (the shipped F32 model), F16 KV, flash attention off (llama.cpp's plain path: K·q as
//   ggml_vec_dot_f16 on the f16-rounded query, softmax, then V·softmax as an F16 matmul, i.e. the weights rounded to f16).
//   Its heads are 8 wide, so a Q8_0 cache is impossible there (llama.cpp needs whole 32-blocks per head, as we do).
// - the "tiny" synthetic llama with 32-wide heads (2 heads sharing 1 KV head, F32 weights, seed 7; the same bytes as
//   test/workers/session-kv-types.test.ts's model): F32 KV without flash attention (the baseline), F16 KV without, and
//   Q8_0 KV with flash attention (llama.cpp refuses a quantized V cache without it: "quantized V cache requires
//   flash_attn"), plus F32 KV with flash attention to separate the flash path's own numerics from the cache type's.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "./lib/atomic-write";
import { TINY_HD32, type KvOracleRun } from "./lib/kv-oracle-format";
import { LlamaCpp, type LlamaCppOptions } from "./lib/llama-cpp";
import { synthModel } from "./lib/synth/model";

const STEPS = 20;

function run(path: string, model: KvOracleRun["model"], kvType: KvOracleRun["kvType"], flash: boolean, prompt: number[] | string): KvOracleRun {
  const options: LlamaCppOptions = { nCtx: 64, threads: 1, kvType, flashAttention: flash ? "on" : "off" };
  const llama = new LlamaCpp(path, options);
  try {
    const promptIds = typeof prompt === "string" ? llama.tokenize(prompt) : prompt;
    const { generated, logits } = llama.greedy(promptIds, STEPS);
    return { model, kvType, flashAttention: flash, promptIds, generatedIds: generated, logits: logits.map((r) => Array.from(r, (x) => Number(x.toPrecision(7)))) };
  } finally {
    llama.free();
  }
}

function main(): void {
  const out = process.argv[2] ?? "test/fixtures/models/oracle/kv-types.json";
  const dir = mkdtempSync(join(tmpdir(), "kv-oracle-"));
  try {
    const tiny = join(dir, "tiny-hd32.gguf");
    writeFileSync(tiny, synthModel(TINY_HD32));
    const stories = "models/stories260K.gguf";
    const tinyPrompt = [1, 17, 42, 99, 7, 250, 3, 64];
    const runs = [
      run(stories, "stories260K.gguf", "f16", false, "Once upon a time"),
      run(tiny, "tiny-hd32", "f32", false, tinyPrompt),
      run(tiny, "tiny-hd32", "f16", false, tinyPrompt),
      run(tiny, "tiny-hd32", "f32", true, tinyPrompt),
      run(tiny, "tiny-hd32", "q8_0", true, tinyPrompt),
    ];
    const body = runs.map((r) => {
      const head = Object.entries(r).filter(([k]) => k !== "logits").map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      return `{${head.join(", ")},\n"logits": [\n${r.logits.map((row) => JSON.stringify(row)).join(",\n")}\n]}`;
    });
    const tool = { llamaCpp: "v0.4.0 (npm node-llama-cpp@3.21.1 prebuilt CPU library)", threads: 1, decode: "one token per llama_decode", nCtx: 64, digits: 7 };
    writeFileAtomic(out, new TextEncoder().encode(`{"tool": ${JSON.stringify(tool)},\n"runs": [\n${body.join(",\n")}\n]}\n`));
    console.log(`${out}: ${runs.map((r) => `${r.model} ${r.kvType}${r.flashAttention ? "+fa" : ""} (${r.logits.length} rows)`).join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
