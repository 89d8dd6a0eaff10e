// LocalAi: the Workers AI binding's text-generation shape (env.AI.run) served by this Worker's own model, one throwaway session object per call.
import { ApiError } from "../api/errors";
import { collect, sseFrame, sseStream, usageOf } from "../api/events";
import { chatBody, samplerOf, samplingFields } from "../api/schemas";
import { ephemeralStub, unwrap } from "../api/session-client";
import { validate } from "../api/validate";
import type { Env } from "../env";
import type { GenerateEvent } from "../protocol";
import { toolDef, type ToolDef } from "../tools/fields";
import { toolPlan } from "../tools/model-plan";
import { readReply } from "../tools/reply";
import { z } from "zod";

/** A Workers AI tool: OpenAI's {type: "function", function: {...}}, or its own flat {name, description, parameters}. */
const localTool = z.preprocess((t) => {
  // runWithTools sends {function: {..., function: undefined}}: unset keys are dropped, as JSON would drop them.
  const plain = t === undefined ? t : (JSON.parse(JSON.stringify(t)) as unknown);
  const flat = typeof plain === "object" && plain !== null && !("type" in plain) && "name" in plain;
  return flat ? { type: "function", function: plain } : plain;
}, toolDef);

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
    tools: z.array(localTool).optional(),
    functions: z.unknown().refine((v) => v === undefined, { message: "functions is not supported (use tools)" }).optional(),
  })
  .refine((i) => (i.prompt === undefined) !== (i.messages === undefined), { message: "give exactly one of prompt or messages" });

export type LocalAiInput = z.input<typeof localAiInput>;

export type LocalAiUsage = ReturnType<typeof usageOf>;

/** A tool call as Workers AI returns it: the function's name and its arguments as an object. */
export interface LocalAiToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface LocalAiOutput {
  /** The reply's text; absent when the reply is only tool calls. */
  response?: string;
  tool_calls?: LocalAiToolCall[];
  usage: LocalAiUsage;
}

export interface LocalAiOptions {
  /**
   * How a call with `tools` may answer (Workers AI has no tool_choice input, and runWithTools sends none):
   * "auto" (default, as Workers AI): text or a call, as the model chooses; "required": always a call (decoding is
   * constrained to one call of the given tools); "required-first": a call while no tool result is among the messages,
   * then "auto", so a small model still makes runWithTools call a tool and then answers with its result.
   */
  toolChoice?: "auto" | "required" | "required-first";
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
    const chat = req.messages ?? (req.raw ? undefined : [{ role: "user" as const, content: req.prompt! }]);
    const plan = chat && (await toolPlan(this.env, { messages: chat, tools: req.tools, tool_choice: this.toolChoice(req.tools, chat) }));
    const messages = plan?.messages ?? chat;
    // Workers AI has no min_p or penalty_last_n: the engine's defaults apply.
    const sampler = samplerOf({ ...req, min_p: undefined, penalty_last_n: undefined });
    const text = messages ? undefined : req.prompt;
    const start = unwrap(
      await stub.generate({ text, messages, maxTokens: req.max_tokens, sampler, ephemeral: true, ...(plan?.tools ? { tools: plan.tools } : {}), ...(plan?.grammar ? { grammar: plan.grammar } : {}) }),
    );
    /** The reply as Workers AI's output: calls with their arguments as objects, the text before them as response. */
    const output = (replyText: string) => {
      const parsed = plan ? readReply(plan, replyText) : null;
      if (!parsed) return { response: replyText };
      const tool_calls = parsed.calls.map((c) => ({ name: c.name, arguments: JSON.parse(c.arguments) as Record<string, unknown> }));
      return { ...(parsed.content !== null ? { response: parsed.content } : {}), tool_calls };
    };
    if (!req.stream) {
      const { done } = await collect(start.events);
      return { ...output(done.text), usage: usageOf(done) };
    }
    // With tools the reply is sent whole in the last frame (a call is only known once the reply ends).
    const frames = (e: GenerateEvent) => {
      if (e.type === "token") return e.text && !plan?.names ? [sseFrame({ response: e.text })] : [];
      if (e.type === "done") return [sseFrame({ ...(plan?.names ? { response: "", ...output(e.text) } : { response: "" }), usage: usageOf(e) })];
      return [sseFrame({ error: e.error.message })];
    };
    return sseStream(start.events, frames, [sseFrame("[DONE]")]);
  }

  /** This object as the `Ai` type of @cloudflare/workers-types, for helpers such as runWithTools (only `run` for text exists). */
  asWorkersAi(): Ai {
    return this as unknown as Ai;
  }

  /** The tool_choice of a call under the toolChoice option (none without tools). */
  private toolChoice(tools: readonly ToolDef[] | undefined, messages: readonly { role: string }[]): "auto" | "required" | undefined {
    if (!tools?.length) return undefined;
    const mode = this.options.toolChoice ?? "auto";
    if (mode === "required-first") return messages.some((m) => m.role === "tool") ? "auto" : "required";
    return mode;
  }

  private parse(model: string, inputs: LocalAiInput) {
    if (typeof model !== "string" || model === "") throw ApiError.invalid("model must be a model name", "model");
    if (model.endsWith(".gguf") && model !== this.env.MODEL_NAME) throw ApiError.invalid(`this deployment serves ${this.env.MODEL_NAME}, not ${model}`, "model", "model_not_found");
    const data = validate(localAiInput, { ...WORKERS_AI_DEFAULTS, ...this.options.defaults, ...inputs });
    // Tools go through the chat template; a raw prompt has none.
    if (data.raw && data.prompt !== undefined && data.tools?.length) throw ApiError.invalid("tools are rendered through the chat template, which raw: true skips", "tools");
    return { ...data, max_tokens: data.max_tokens ?? WORKERS_AI_DEFAULTS.max_tokens };
  }
}
