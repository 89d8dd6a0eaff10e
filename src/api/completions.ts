// OpenAI-compatible completions: one-shot in a throwaway session object, or continuing a session (x-session-id / session_id).
import { Hono, type Context } from "hono";
import type { Env } from "../env";
import type { ChatMessage, DoneEvent, FinishReason, GenerateEvent, GenerateStart, Result, TokenLogprobs } from "../protocol";
import { ApiError, errorJson } from "./errors";
import { collectChoices, SSE_HEADERS, sseFrame, sseStream, openAiUsageOf, type Collected } from "./events";
import { arrivedAt, eventMeter } from "./metrics";
import { chatLogprobs, legacyLogprobs, textLength } from "./logprobs";
import { chatBody, completionBody, samplerOf } from "./schemas";
import { ephemeralStub, newSessionId, sessionStub, unwrap } from "./session-client";
import { structuredGrammar } from "./structured-output";
import { readBody } from "./validate";
import { streamGates, withToolCalls } from "../tools/chunks";
import { toolPlan } from "../tools/model-plan";
import type { ToolPlan } from "../tools/plan";

export const completions = new Hono<{ Bindings: Env }>();

/** OpenAI's two reasons: "length" (a limit: more can be requested) or "stop" (a stop string or end of text). */
function openAiFinish(r: FinishReason): "length" | "stop" {
  return r === "length" || r === "context_full" ? "length" : "stop";
}

interface Shape {
  readonly object: string;
  readonly chunkObject: string;
  /**
   * One choice; `logprobs` is null when not asked for, `offset` where its text starts in the whole completion. A
   * streamed chat choice names its role in its first delta only (`first`), as OpenAI does.
   */
  choice(index: number, text: string, finish: "length" | "stop" | "tool_calls" | null, delta: { first: boolean } | null, logprobs: readonly TokenLogprobs[] | null, offset: number): Record<string, unknown>;
}

const TEXT: Shape = {
  object: "text_completion",
  chunkObject: "text_completion",
  choice: (index, text, finish, _delta, logprobs, offset) => ({ index, text, logprobs: logprobs && legacyLogprobs(logprobs, offset), finish_reason: finish }),
};

const CHAT: Shape = {
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  choice: (index, text, finish, delta, logprobs) => {
    const lp = logprobs && chatLogprobs(logprobs);
    if (!delta) return { index, message: { role: "assistant", content: text }, logprobs: lp, finish_reason: finish };
    const content = text || delta.first ? { content: text } : {};
    return { index, delta: { ...(delta.first ? { role: "assistant" } : {}), ...content }, logprobs: lp, finish_reason: finish };
  },
};

interface CompletionRequest {
  readonly text?: string;
  /** Special-token text in `text` becomes control tokens (parse_special). */
  readonly parseSpecial?: boolean;
  /** Token ids appended as they are (no BOS). */
  readonly tokens?: readonly number[];
  readonly messages?: readonly ChatMessage[];
  /** As the client sent it: given, it must fit in the context (400 context_length_exceeded otherwise); absent, `defaultMaxTokens` caps the reply. */
  readonly maxTokens: number | undefined;
  readonly defaultMaxTokens: number;
  readonly stop?: string[];
  readonly stream?: boolean;
  readonly sessionId?: string;
  readonly sampler: ReturnType<typeof samplerOf>;
  /** Alternatives per token to report log-probabilities for; undefined: no logprobs. */
  readonly logprobs?: number;
  readonly logitBias?: readonly (readonly [number, number])[];
  /** Choices returned, and choices generated (best_of ≥ n: the n with the highest cumulative log-probability win). */
  readonly n: number;
  readonly bestOf?: number;
  /** Completions' echo: the prompt text starts each choice's text. */
  readonly echo?: boolean;
  /** stream_options.include_usage: a last chunk with choices [] carries usage; the others say usage: null. */
  readonly includeUsage?: boolean;
  /** Structured output: the GBNF the reply is constrained to (response_format, grammar or json_schema), compiled and checked here. */
  readonly grammar?: { readonly gbnf: string; readonly param: string };
  /** Chat with tools: the tools the template renders, and how replies are read as tool_calls (src/tools). */
  readonly tools?: ToolPlan;
}

/** The n choices a request returns: with best_of, the n best by cumulative log-probability (stable: ties keep order). */
function pick(all: Collected[], n: number): Collected[] {
  if (all.length === n) return all;
  return [...all].sort((a, b) => (b.done.logprob ?? -Infinity) - (a.done.logprob ?? -Infinity)).slice(0, n);
}

/** Runs the generation in the named session, or in a fresh throwaway object, and answers in OpenAI's shapes. */
async function complete(c: Context<{ Bindings: Env }>, shape: Shape, req: CompletionRequest) {
  const sessionId = req.sessionId ?? c.req.header("x-session-id");
  const stub = sessionId !== undefined ? sessionStub(c.env, sessionId) : ephemeralStub(c.env);
  const generated = req.bestOf ?? req.n;
  if (sessionId !== undefined && generated > 1) {
    // The body's session_id is refused by the schema; this is the x-session-id header's twin of that refusal.
    const param = req.n > 1 ? "n" : "best_of";
    throw ApiError.invalid(`${param} > 1 is not supported in a session (it keeps one continuation); send the request without x-session-id`, param);
  }
  const start = unwrap(
    (await stub.generate({
      text: req.text,
      parseSpecial: req.parseSpecial,
      tokens: req.tokens,
      // The generic format's tool description goes to a session apart: it renders it in its first request only.
      ...(sessionId !== undefined && req.tools?.session ? { messages: req.tools.session.messages, toolsPrompt: req.tools.session.toolsPrompt } : { messages: req.messages }),
      maxTokens: req.maxTokens ?? req.defaultMaxTokens,
      requireRoom: req.maxTokens !== undefined,
      stop: req.stop,
      sampler: req.sampler,
      logprobs: req.logprobs,
      ephemeral: sessionId === undefined,
      ...(req.logitBias ? { logitBias: req.logitBias } : {}),
      ...(req.grammar ? { grammar: req.grammar } : {}),
      ...(req.tools?.tools ? { tools: req.tools.tools } : {}),
      ...(generated > 1 ? { n: generated } : {}),
      ...(generated > req.n ? { choiceLogprob: true } : {}),
      ...(req.echo && req.text === undefined ? { echo: true } : {}),
    })) as Result<GenerateStart>,
  );
  const meter = eventMeter(arrivedAt(c));
  const id = `${shape === CHAT ? "chatcmpl" : "cmpl"}-${newSessionId()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = c.env.MODEL_NAME;
  const headers: Record<string, string> = sessionId ? { "x-session-id": sessionId } : {};
  const wantLogprobs = req.logprobs !== undefined;
  // A text prompt is echoed as the client sent it; token ids as the session decodes them.
  const echo = req.echo ? (req.text ?? start.inputText ?? "") : "";

  if (!req.stream) {
    const all = await collectChoices(start.events, generated, meter);
    const choices = pick(all, req.n).map(({ done: d, logprobs }, i) => withToolCalls(shape.choice(i, echo + d.text, openAiFinish(d.finishReason), null, wantLogprobs ? logprobs : null, 0), req.tools, d.text));
    return c.json({ id, object: shape.object, created, model, choices, usage: openAiUsageOf(...all.map((x) => x.done)) }, 200, headers);
  }
  // OpenAI's usage in streams: absent without include_usage; with it, null on every chunk and one last chunk with choices [].
  const usageField = req.includeUsage ? { usage: null } : {};
  const chunk = (choices: Record<string, unknown>[], extra: Record<string, unknown> = usageField) => sseFrame({ id, object: shape.chunkObject, created, model, choices, ...extra });
  const offsets = new Array<number>(req.n).fill(0);
  const opened = new Array<boolean>(req.n).fill(false);
  const dones: DoneEvent[] = [];
  // With tools: a forced call streams as tool_calls deltas as it is generated; under auto, text that may be a call is held back until the reply ends.
  const gates = streamGates(req.tools, req.n);
  /** A choice's first chunk: its role (chat) and, with echo, the prompt text (completions). */
  const open = (i: number) => {
    const first = !opened[i];
    opened[i] = true;
    return first;
  };
  const frames = (e: GenerateEvent) => {
    if (e.type === "error") return [sseFrame(errorJson(e.error))];
    const i = e.index ?? 0;
    const first = open(i);
    const lead = first && echo ? [chunk([shape.choice(i, echo, null, { first: true }, wantLogprobs ? [] : null, 0)])] : [];
    const delta = { first: first && !echo };
    if (e.type === "token") {
      // With logprobs, a token whose text is still held back (part of a character) gets its own chunk too.
      const logprobs = wantLogprobs ? (e.logprobs ? [e.logprobs] : []) : null;
      const gated = gates?.[i]!.push(e.text);
      const text = gated ? gated.content : e.text;
      const toolFrames = (gated?.deltas ?? []).map((d) => chunk([{ index: i, delta: d, logprobs: null, finish_reason: null }]));
      if (!text && !logprobs?.length && !delta.first) return [...lead, ...toolFrames];
      const frame = chunk([shape.choice(i, text, null, delta, logprobs, offsets[i]!)]);
      offsets[i]! += logprobs ? textLength(logprobs) : 0;
      return [...lead, frame, ...toolFrames];
    }
    dones[i] = e;
    const held = gates?.[i]!.end(e.text);
    const calls = held ? [...(held.content ? [{ content: held.content }] : []), ...held.deltas] : [];
    const toolFrames = calls.map((d) => chunk([{ index: i, delta: d, logprobs: null, finish_reason: null }]));
    const finish = held?.called ? "tool_calls" : openAiFinish(e.finishReason);
    const end = [...toolFrames, chunk([shape.choice(i, "", finish, toolFrames.length ? { first: false } : delta, null, offsets[i]!)])];
    if (i === req.n - 1 && req.includeUsage) end.push(chunk([], { usage: openAiUsageOf(...dones) }));
    return [...lead, ...end];
  };
  return new Response(sseStream(start.events, frames, [sseFrame("[DONE]")], meter), { headers: { ...SSE_HEADERS, ...headers } });
}

completions.post("/completions", async (c) => {
  const b = await readBody(c, completionBody);
  const prompt = typeof b.prompt === "string" ? { text: b.prompt, parseSpecial: b.parse_special } : { tokens: b.prompt };
  return complete(c, TEXT, {
    ...prompt,
    maxTokens: b.max_tokens,
    defaultMaxTokens: 16,
    stop: b.stop,
    stream: b.stream,
    sessionId: b.session_id,
    sampler: samplerOf(b),
    logprobs: b.logprobs,
    logitBias: b.logit_bias,
    n: b.n ?? 1,
    bestOf: b.best_of,
    echo: b.echo,
    includeUsage: b.stream_options?.include_usage,
    grammar: structuredGrammar(b),
  });
});

completions.post("/chat/completions", async (c) => {
  const b = await readBody(c, chatBody);
  // The session object renders the messages: it has the model's chat template (or uses the plain one).
  // In a session (x-session-id), send only the new messages: earlier turns are already in it.
  const tools = await toolPlan(c.env, b);
  return complete(c, CHAT, {
    messages: tools?.messages ?? b.messages,
    tools,
    maxTokens: b.max_completion_tokens ?? b.max_tokens,
    defaultMaxTokens: 128,
    stop: b.stop,
    stream: b.stream,
    sessionId: b.session_id,
    sampler: samplerOf(b),
    logprobs: b.logprobs ? (b.top_logprobs ?? 0) : undefined,
    logitBias: b.logit_bias,
    n: b.n ?? 1,
    includeUsage: b.stream_options?.include_usage,
    grammar: tools?.grammar ?? structuredGrammar(b),
  });
});
