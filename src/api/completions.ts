// OpenAI-compatible completions: one-shot in a throwaway session object, or continuing a session (x-session-id / session_id).
import { Hono, type Context } from "hono";
import type { Env } from "../env";
import type { ChatMessage, FinishReason, GenerateEvent, GenerateStart, Result, TokenLogprobs } from "../protocol";
import { errorJson } from "./errors";
import { collect, SSE_HEADERS, sseFrame, sseStream, usageOf } from "./events";
import { chatLogprobs, legacyLogprobs, textLength } from "./logprobs";
import { chatBody, completionBody, samplerOf } from "./schemas";
import { ephemeralStub, newSessionId, sessionStub, unwrap } from "./session-client";
import { readBody } from "./validate";

export const completions = new Hono<{ Bindings: Env }>();

/** OpenAI's two reasons: "length" (a limit: more can be requested) or "stop" (a stop string or end of text). */
function openAiFinish(r: FinishReason): "length" | "stop" {
  return r === "length" || r === "context_full" ? "length" : "stop";
}

interface Shape {
  readonly object: string;
  readonly chunkObject: string;
  /** One choice; `logprobs` is null when not asked for, `offset` where its text starts in the whole completion. */
  choice(text: string, finish: "length" | "stop" | null, delta: boolean, logprobs: readonly TokenLogprobs[] | null, offset: number): Record<string, unknown>;
}

const TEXT: Shape = {
  object: "text_completion",
  chunkObject: "text_completion",
  choice: (text, finish, _delta, logprobs, offset) => ({ index: 0, text, logprobs: logprobs && legacyLogprobs(logprobs, offset), finish_reason: finish }),
};

const CHAT: Shape = {
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  choice: (text, finish, delta, logprobs) => {
    const lp = logprobs && chatLogprobs(logprobs);
    return delta
      ? { index: 0, delta: text ? { role: "assistant", content: text } : {}, logprobs: lp, finish_reason: finish }
      : { index: 0, message: { role: "assistant", content: text }, logprobs: lp, finish_reason: finish };
  },
};

interface CompletionRequest {
  readonly text?: string;
  /** Special-token text in `text` becomes control tokens (parse_special). */
  readonly parseSpecial?: boolean;
  /** Token ids appended as they are (no BOS). */
  readonly tokens?: readonly number[];
  readonly messages?: readonly ChatMessage[];
  /** As the client sent it: given, it must fit in the context (413 otherwise); absent, `defaultMaxTokens` caps the reply. */
  readonly maxTokens: number | undefined;
  readonly defaultMaxTokens: number;
  readonly stop?: string[];
  readonly stream?: boolean;
  readonly sessionId?: string;
  readonly sampler: ReturnType<typeof samplerOf>;
  /** Alternatives per token to report log-probabilities for; undefined: no logprobs. */
  readonly logprobs?: number;
}

/** Runs the generation in the named session, or in a fresh throwaway object, and answers in OpenAI's shapes. */
async function complete(c: Context<{ Bindings: Env }>, shape: Shape, req: CompletionRequest) {
  const sessionId = req.sessionId ?? c.req.header("x-session-id");
  const stub = sessionId !== undefined ? sessionStub(c.env, sessionId) : ephemeralStub(c.env);
  const start = unwrap(
    (await stub.generate({
      text: req.text,
      parseSpecial: req.parseSpecial,
      tokens: req.tokens,
      messages: req.messages,
      maxTokens: req.maxTokens ?? req.defaultMaxTokens,
      requireRoom: req.maxTokens !== undefined,
      stop: req.stop,
      sampler: req.sampler,
      logprobs: req.logprobs,
      ephemeral: sessionId === undefined,
    })) as Result<GenerateStart>,
  );
  const id = `${shape === CHAT ? "chatcmpl" : "cmpl"}-${newSessionId()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = c.env.MODEL_NAME;
  const headers: Record<string, string> = sessionId ? { "x-session-id": sessionId } : {};
  const wantLogprobs = req.logprobs !== undefined;

  if (!req.stream) {
    const { done: d, logprobs } = await collect(start.events);
    return c.json({ id, object: shape.object, created, model, choices: [shape.choice(d.text, openAiFinish(d.finishReason), false, wantLogprobs ? logprobs : null, 0)], usage: usageOf(d) }, 200, headers);
  }
  const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => sseFrame({ id, object: shape.chunkObject, created, model, choices: [choice], ...extra });
  let offset = 0;
  const frames = (e: GenerateEvent) => {
    if (e.type === "token") {
      // With logprobs, a token whose text is still held back (part of a character) gets its own chunk too.
      const logprobs = wantLogprobs ? (e.logprobs ? [e.logprobs] : []) : null;
      if (!e.text && !logprobs?.length) return [];
      const frame = chunk(shape.choice(e.text, null, true, logprobs, offset));
      offset += logprobs ? textLength(logprobs) : 0;
      return [frame];
    }
    if (e.type === "done") return [chunk(shape.choice("", openAiFinish(e.finishReason), true, null, offset), { usage: usageOf(e) })];
    return [sseFrame(errorJson(e.error))];
  };
  return new Response(sseStream(start.events, frames, [sseFrame("[DONE]")]), { headers: { ...SSE_HEADERS, ...headers } });
}

completions.post("/completions", async (c) => {
  const b = await readBody(c, completionBody);
  const prompt = typeof b.prompt === "string" ? { text: b.prompt, parseSpecial: b.parse_special } : { tokens: b.prompt };
  return complete(c, TEXT, { ...prompt, maxTokens: b.max_tokens, defaultMaxTokens: 16, stop: b.stop, stream: b.stream, sessionId: b.session_id, sampler: samplerOf(b), logprobs: b.logprobs });
});

completions.post("/chat/completions", async (c) => {
  const b = await readBody(c, chatBody);
  // The session object renders the messages: it has the model's chat template (or uses the plain one).
  // In a session (x-session-id), send only the new messages: earlier turns are already in it.
  return complete(c, CHAT, {
    messages: b.messages,
    maxTokens: b.max_completion_tokens ?? b.max_tokens,
    defaultMaxTokens: 128,
    stop: b.stop,
    stream: b.stream,
    sessionId: b.session_id,
    sampler: samplerOf(b),
    logprobs: b.logprobs ? (b.top_logprobs ?? 0) : undefined,
  });
});
