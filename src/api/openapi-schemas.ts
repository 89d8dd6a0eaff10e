// Response schemas (zod) and examples for the API document: what each route answers, checked against live responses in tests.
import { z } from "zod";

const finishReason = z.enum(["stop", "length", "eos", "abort", "context_full"]);

export const errorResponse = z.object({
  error: z.object({ message: z.string(), type: z.string(), code: z.string(), param: z.string().nullable() }),
});

export const healthResponse = z.object({ status: z.literal("ok"), model: z.string(), backend: z.string(), backends: z.array(z.string()) });

export const modelListResponse = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ id: z.string(), object: z.literal("model"), created: z.number(), owned_by: z.string() })),
});

export const modelInfoResponse = z.object({
  object: z.literal("model.info"),
  id: z.string(),
  name: z.string(),
  architecture: z.string(),
  backend: z.string().describe("the backend that runs generations (wasm resolves to wasm-relaxed or wasm-simd128)"),
  backend_setting: z.string(),
  file_bytes: z.number().int(),
  chat_template: z.string().nullable().describe("the GGUF's tokenizer.chat_template (Jinja); null: chat uses the plain System:/User:/Assistant: template"),
  eog_tokens: z.array(z.object({ id: z.number().int(), piece: z.string() })).describe("the tokens that end a generation (eos, eot, <|im_end|>...), as llama.cpp computes them"),
  default_n_ctx: z.number().int(),
  config: z.object({
    dim: z.number().int(),
    n_layers: z.number().int(),
    n_heads: z.number().int(),
    n_kv_heads: z.number().int(),
    head_dim: z.number().int(),
    ffn_dim: z.number().int(),
    vocab_size: z.number().int(),
    n_ctx_train: z.number().int(),
    rope_freq_base: z.number(),
    rope_freq_scale: z.number(),
    rms_eps: z.number(),
    tied_output: z.boolean(),
  }),
  memory: z
    .object({
      budget_bytes: z.number().describe("MEMORY_BUDGET_MB in bytes"),
      used_bytes: z.number().describe("weights_bytes + kv_bytes + scratch_bytes"),
      weights_bytes: z.number().describe("the weights once loaded"),
      kv_bytes: z.number().describe("the KV cache of one session at default_n_ctx"),
      scratch_bytes: z.number().describe("a forward pass's run buffers"),
    })
    .describe("what an isolate needs to serve one session at default_n_ctx, computed from the GGUF header (answering loads no weights)"),
});

export const sessionResponse = z.object({
  id: z.string(),
  object: z.literal("session"),
  created: z.number().int(),
  token_count: z.number().int(),
  evaluated_tokens: z.number().int().describe("tokens whose keys and values are in the KV cache"),
  text: z.string(),
  generating: z.boolean(),
  last_finish_reason: finishReason.nullable(),
  settings: z.object({
    n_ctx: z.number().int(),
    temperature: z.number(),
    top_k: z.number().int(),
    top_p: z.number(),
    min_p: z.number(),
    repetition_penalty: z.number(),
    frequency_penalty: z.number(),
    presence_penalty: z.number(),
    penalty_last_n: z.number().int(),
    seed: z.number().int(),
  }),
  storage: z.object({
    stored_bytes: z.number().int(),
    kv_bytes: z.number().int(),
    kv_pages: z.number().int(),
    state_bytes: z.number().int(),
    bytes_per_position: z.number().int(),
    positions_per_page: z.number().int(),
    database_bytes: z.number().int(),
  }),
});

export const generationResponse = z.object({
  id: z.string(),
  object: z.literal("session.generation"),
  text: z.string(),
  tokens: z.array(z.number().int()),
  finish_reason: finishReason,
  can_continue: z.boolean(),
  usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int(), prefill_tokens: z.number().int(), session_tokens: z.number().int() }),
  timings: z.object({ prefill_ms: z.number(), decode_ms: z.number() }),
  shards: z
    .object({
      catch_ups: z.number().int().describe("steps or commits a shard refused because it had lost positions (its object evicted), after which the batches since the last commit ran again"),
      replayed_tokens: z.number().int().describe("positions those catch-ups ran through the pipeline again"),
      loads: z.number().int().describe("shard calls that found their object without its part of the model (a new instance) and loaded it from R2 first"),
      load_ms: z.number().describe("the time those loads took inside the shards"),
    })
    .optional()
    .describe("a model served by shards only (docs/sharding.md): what keeping the shards in step cost this request"),
});

export const sessionDeletedResponse = z.object({ id: z.string(), object: z.literal("session.deleted"), deleted: z.literal(true) });

const usage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int().describe("prompt tokens restored from the prompt cache (whole 32-token blocks of a shared prefix) instead of prefilled; 0 on a miss") }),
});
const openAiFinish = z.enum(["stop", "length"]).nullable();

export const completionResponse = z.object({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.object({ index: z.number().int(), text: z.string(), logprobs: z.unknown().nullable().optional().describe("with logprobs: tokens, token_logprobs, top_logprobs, text_offset"), finish_reason: openAiFinish })),
  usage,
});

/** A tool call in a chat message: a fresh id per call, the function's name and its arguments as JSON text. */
export const toolCall = z.object({
  id: z.string().describe('"call_" and 24 random characters, unique per call'),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string().describe("JSON text of an object that matches the tool's parameters schema") }),
});

export const chatCompletionResponse = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal("assistant"),
        content: z.string().nullable().describe("the reply's text; null when the reply is only tool calls"),
        tool_calls: z.array(toolCall).min(1).optional().describe("the calls the reply holds (tools given and tool_choice not \"none\")"),
      }),
      logprobs: z.unknown().nullable().optional().describe("with logprobs: {content: [...], refusal: null}"),
      finish_reason: z.enum(["stop", "length", "tool_calls"]).describe('"tool_calls" when the message holds tool_calls'),
    }),
  ),
  usage,
});

const SESSION_ID = "3f2a9c4e8b7d4a10a1c2e3f405162738";

const sessionExample: z.input<typeof sessionResponse> = {
  id: SESSION_ID,
  object: "session",
  created: 1764390000,
  token_count: 37,
  evaluated_tokens: 36,
  text: "Once upon a time, there was a little girl named Lily.",
  generating: false,
  last_finish_reason: "length",
  settings: { n_ctx: 512, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repetition_penalty: 1, frequency_penalty: 0, presence_penalty: 0, penalty_last_n: 64, seed: 42 },
  storage: { stored_bytes: 18740, kv_bytes: 18432, kv_pages: 1, state_bytes: 308, bytes_per_position: 512, positions_per_page: 2048, database_bytes: 49152 },
};

/** One example per response schema; the tests validate each against its schema. */
export const responseExamples = {
  error: { error: { message: "max_tokens: Too big: expected number to be <=1000000", type: "invalid_request_error", code: "invalid_value", param: "max_tokens" } },
  health: { status: "ok", model: "stories260K.gguf", backend: "wasm", backends: ["ref", "wasm", "wasm-simd128", "wasm-relaxed"] },
  modelList: { object: "list", data: [{ id: "stories260K.gguf", object: "model", created: 0, owned_by: "edge-llama" }] },
  modelInfo: {
    object: "model.info",
    id: "stories260K.gguf",
    name: "stories260K",
    architecture: "llama",
    backend: "wasm-relaxed",
    backend_setting: "wasm",
    file_bytes: 1185376,
    chat_template: null,
    eog_tokens: [{ id: 2, piece: "</s>" }],
    default_n_ctx: 512,
    config: { dim: 64, n_layers: 5, n_heads: 8, n_kv_heads: 4, head_dim: 8, ffn_dim: 172, vocab_size: 512, n_ctx_train: 512, rope_freq_base: 10000, rope_freq_scale: 1, rms_eps: 0.00001, tied_output: true },
    memory: { budget_bytes: 134217728, used_bytes: 1847648, weights_bytes: 1171200, kv_bytes: 655360, scratch_bytes: 21088 },
  },
  session: sessionExample,
  generation: {
    id: SESSION_ID,
    object: "session.generation",
    text: " there was a little girl named Lily.",
    tokens: [306, 471, 263, 2217, 7826, 4257, 365, 2354, 29889],
    finish_reason: "length",
    can_continue: true,
    usage: { input_tokens: 6, output_tokens: 9, prefill_tokens: 6, session_tokens: 15 },
    timings: { prefill_ms: 1.2, decode_ms: 3.4 },
  },
  sessionDeleted: { id: SESSION_ID, object: "session.deleted", deleted: true },
  completion: {
    id: "cmpl-9b1e0c2d4f6a8b0c1d2e3f4a5b6c7d8e",
    object: "text_completion",
    created: 1764390000,
    model: "stories260K.gguf",
    choices: [{ index: 0, text: " there was a little girl named Lily.", finish_reason: "length" }],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14, prompt_tokens_details: { cached_tokens: 0 } },
  },
  chatCompletion: {
    id: "chatcmpl-9b1e0c2d4f6a8b0c1d2e3f4a5b6c7d8e",
    object: "chat.completion",
    created: 1764390000,
    model: "stories260K.gguf",
    choices: [{ index: 0, message: { role: "assistant", content: " Lily went to the park." }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 } },
  },
  chatCompletionToolCalls: {
    id: "chatcmpl-0c1d2e3f4a5b6c7d8e9b1e0c2d4f6a8b",
    object: "chat.completion",
    created: 1764390000,
    model: "stories260K.gguf",
    choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "call_Qx3m9TzL0aB7cD2eF5gH8jK1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] }, finish_reason: "tool_calls" }],
    usage: { prompt_tokens: 96, completion_tokens: 14, total_tokens: 110, prompt_tokens_details: { cached_tokens: 0 } },
  },
} as const;
