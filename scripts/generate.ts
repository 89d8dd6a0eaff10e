// `npm run generate`: loads a GGUF model and generates text from a prompt, streaming it or printing one JSON object.
import { LlamaModel } from "../src/engine/model";
import { LlamaContext } from "../src/engine/context";
import { Sampler } from "../src/engine/sampler";
import { generate } from "../src/engine/generate";
import { createBackendAsync } from "../src/backends/select";
// `--backend webgpu` (or auto) in Node runs on Dawn, the npm `webgpu` package.
import "./lib/gpu-node";
import { readModelFile } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";

const USAGE = `usage: npm run generate -- --model FILE --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]
       [--min-p P] [--repeat-penalty R] [--seed S] [--ctx N] [--stop STR] [--backend ref] [--parse-special] [--json]
FILE is a path, or a name inside the model directory ($EDGE_LLAMA_MODELS, default ./models).
--parse-special: special-token text in the prompt ("<|im_start|>", "<s>") becomes those tokens, as in llama.cpp's tools;
without it the prompt is literal text. Generation stops at any end-of-generation token of the vocabulary.`;

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), {
    model: "string",
    prompt: "string",
    "max-tokens": "number",
    temperature: "number",
    "top-k": "number",
    "top-p": "number",
    "min-p": "number",
    "repeat-penalty": "number",
    seed: "number",
    ctx: "number",
    stop: "string",
    backend: "string",
    json: "boolean",
    "parse-special": "boolean",
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (!flags.model) throw new UsageError("--model is required");
  if (flags.prompt === undefined) throw new UsageError("--prompt is required");

  const backend = await createBackendAsync(flags.backend ?? "ref");
  const model = LlamaModel.load(readModelFile(flags.model), backend);
  const ctx = new LlamaContext(model, flags.ctx !== undefined ? { nCtx: flags.ctx } : {});
  const sampler = new Sampler({
    temperature: flags.temperature ?? 0.8,
    ...(flags["top-k"] !== undefined && { topK: flags["top-k"] }),
    ...(flags["top-p"] !== undefined && { topP: flags["top-p"] }),
    ...(flags["min-p"] !== undefined && { minP: flags["min-p"] }),
    ...(flags["repeat-penalty"] !== undefined && { repetitionPenalty: flags["repeat-penalty"] }),
    seed: flags.seed ?? Date.now() % 2 ** 31,
  });
  // BOS where the vocabulary asks for it (add_bos_token), never an EOS after a prompt.
  const promptTokens = model.tokenizer.encode(flags.prompt, { addEos: false, parseSpecial: flags["parse-special"] ?? false });
  const run = generate(ctx, sampler, {
    input: promptTokens,
    maxTokens: flags["max-tokens"] ?? 128,
    ...(flags.stop !== undefined && { stop: [flags.stop] }),
  });
  if (!flags.json) process.stdout.write(flags.prompt);
  let step = await run.next();
  while (!step.done) {
    if (!flags.json) process.stdout.write(step.value.text);
    step = await run.next();
  }
  const result = step.value;
  const { prefillMs, prefillTokens, decodeMs, decodeTokens } = result.timings;
  const perSecond = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1000 * 10) / 10 : null);
  if (flags.json) {
    const out = {
      prompt_tokens: promptTokens,
      tokens: result.tokens,
      text: result.text,
      finish_reason: result.finishReason,
      backend: backend.name,
      timings: {
        prefill_ms: Math.round(prefillMs * 1000) / 1000,
        decode_ms: Math.round(decodeMs * 1000) / 1000,
        prefill_tokens_per_s: perSecond(prefillTokens, prefillMs),
        decode_tokens_per_s: perSecond(decodeTokens, decodeMs),
      },
    };
    console.log(JSON.stringify(out));
  } else {
    process.stdout.write("\n");
    console.error(
      `[${backend.name}] ${promptTokens.length} prompt tokens, ${result.tokens.length} generated (${result.finishReason}); ` +
        `prefill ${perSecond(prefillTokens, prefillMs)} tok/s, decode ${perSecond(decodeTokens, decodeMs)} tok/s`,
    );
  }
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(1);
});
