// LocalAi: the Workers AI binding's text-generation shape (env.AI.run) served by this Worker's own model, one throwaway session object per call.
import { ApiError } from "../api/errors";
import { collect, sseFrame, sseStream, usageOf } from "../api/events";
import { chatBody, samplerOf, samplingFields } from "../api/schemas";
import { ephemeralStub, unwrap } from "../api/session-client";
import { validate } from "../api/validate";
import type { Env } from "../env";
import type { GenerateEvent } from "../protocol";
import { z } from "zod";

/** Workers AI's input for text generation; the sampling fields and the messages are the HTTP API's own schemas. */
export const localAiInput = z
  .object({
    prompt: z.string().optional(),
    messages: chatBody.shape.messages.optional(),
    raw: z.boolean().optional(),
    stream: z.boolean().optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    temperature: samplingFields.temperature,
    top_p: samplingFields.top_p,
    top_k: samplingFields.top_k,
    seed: samplingFields.seed,
    repetition_penalty: samplingFields.repetition_penalty,
    frequency_penalty: samplingFields.frequency_penalty,
    presence_penalty: samplingFields.presence_penalty,
    tools: z.array(z.unknown()).optional(),
    functions: z.array(z.unknown()).optional(),
  })
  .refine((i) => (i.prompt === undefined) !== (i.messages === undefined), { message: "give exactly one of prompt or messages" });

export type LocalAiInput = z.input<typeof localAiInput>;

export type LocalAiUsage = ReturnType<typeof usageOf>;

export interface LocalAiOutput {
  response: string;
  usage: LocalAiUsage;
}

export interface LocalAiOptions {
  /**
   * What a call with `tools` (or `functions`) gets. The engine's models cannot emit tool calls, so "ignore" (the
   * default) answers in plain text with no `tool_calls`: runWithTools then calls no tool and returns that answer.
   * "error" throws instead, for code that must not go on without its tools.
   */
  tools?: "ignore" | "error";
  /** Values for fields a call leaves out; Workers AI's own defaults otherwise (max_tokens 256, temperature 0.6). */
  defaults?: Partial<Omit<LocalAiInput, "prompt" | "messages" | "stream" | "tools" | "functions">>;
}

/** Workers AI's defaults for text generation models. */
const WORKERS_AI_DEFAULTS = { max_tokens: 256, temperature: 0.6 };

export class LocalAi {
  constructor(
    private readonly env: Env,
    private readonly options: LocalAiOptions = {},
  ) {}

  /**
   * Workers AI's `run(model, inputs)`: `{response, usage}`, or with `stream: true` a ReadableStream of SSE frames
   * `data: {"response": "…"}`, the last one also carrying `usage`, then `data: [DONE]`. `model` may be any Workers
   * AI model name (this deployment serves one model, MODEL_NAME); a `.gguf` name must be that model. `prompt`
   * is wrapped as one user message in the chat template (as Workers AI does) unless `raw: true`, which continues
   * the text as given: base models such as stories260K want raw.
   */
  run(model: string, inputs: LocalAiInput & { stream: true }): Promise<ReadableStream<Uint8Array>>;
  run(model: string, inputs: LocalAiInput): Promise<LocalAiOutput>;
  async run(model: string, inputs: LocalAiInput): Promise<LocalAiOutput | ReadableStream<Uint8Array>> {
    const req = this.parse(model, inputs);
    const stub = ephemeralStub(this.env);
    const messages = req.messages ?? (req.raw ? undefined : [{ role: "user" as const, content: req.prompt! }]);
    // Workers AI has no min_p or penalty_last_n: the engine's defaults apply.
    const sampler = samplerOf({ ...req, min_p: undefined, penalty_last_n: undefined });
    const text = messages ? undefined : req.prompt;
    const start = unwrap(await stub.generate({ text, messages, maxTokens: req.max_tokens, sampler, ephemeral: true }));
    if (!req.stream) {
      const { done } = await collect(start.events);
      return { response: done.text, usage: usageOf(done) };
    }
    const frames = (e: GenerateEvent) => {
      if (e.type === "token") return e.text ? [sseFrame({ response: e.text })] : [];
      if (e.type === "done") return [sseFrame({ response: "", usage: usageOf(e) })];
      return [sseFrame({ error: e.error.message })];
    };
    return sseStream(start.events, frames, [sseFrame("[DONE]")]);
  }

  /** This object as the `Ai` type of @cloudflare/workers-types, for helpers such as runWithTools (only `run` for text exists). */
  asWorkersAi(): Ai {
    return this as unknown as Ai;
  }

  private parse(model: string, inputs: LocalAiInput) {
    if (typeof model !== "string" || model === "") throw ApiError.invalid("model must be a model name", "model");
    if (model.endsWith(".gguf") && model !== this.env.MODEL_NAME) throw ApiError.invalid(`this deployment serves ${this.env.MODEL_NAME}, not ${model}`, "model", "model_not_found");
    const data = validate(localAiInput, { ...WORKERS_AI_DEFAULTS, ...this.options.defaults, ...inputs });
    const wantsTools = (data.tools?.length ?? 0) > 0 || (data.functions?.length ?? 0) > 0;
    if (wantsTools && this.options.tools === "error") {
      throw ApiError.invalid(`${this.env.MODEL_NAME} cannot call tools: it answers in plain text only (LocalAi option tools: "error")`, "tools", "tools_unsupported");
    }
    return { ...data, max_tokens: data.max_tokens ?? WORKERS_AI_DEFAULTS.max_tokens };
  }
}
