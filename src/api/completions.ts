// OpenAI-compatible completions: one-shot in a throwaway session object, or continuing a session (x-session-id / session_id).
import { Hono, type Context } from "hono";
import type { FinishReason } from "../engine/generate";
import type { ChatMessage } from "../session/chat";
import type { Env } from "../session/env";
import type { GenerateEvent, GenerateStart, Result } from "../session/protocol";
import { errorJson } from "./errors";
import { collect, SSE_HEADERS, sseFrame, sseStream } from "./events";
import { chatBody, completionBody, samplerOf } from "./schemas";
import { newSessionId, sessionStub, unwrap } from "./session-client";
import { readBody } from "./validate";

export const completions = new Hono<{ Bindings: Env }>();

/** OpenAI's two reasons: "length" (a limit: more can be requested) or "stop" (a stop string or end of text). */
function openAiFinish(r: FinishReason): "length" | "stop" {
  return r === "length" || r === "context_full" ? "length" : "stop";
}

interface Shape {
  readonly object: string;
  readonly chunkObject: string;
  choice(text: string, finish: "length" | "stop" | null, delta: boolean): Record<string, unknown>;
}

const TEXT: Shape = {
  object: "text_completion",
  chunkObject: "text_completion",
  choice: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
};

const CHAT: Shape = {
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  choice: (text, finish, delta) =>
    delta ? { index: 0, delta: text ? { role: "assistant", content: text } : {}, logprobs: null, finish_reason: finish } : { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: finish },
};

/** Runs the generation in the named session, or in a fresh throwaway object, and answers in OpenAI's shapes. */
async function complete(c: Context<{ Bindings: Env }>, shape: Shape, req: { text?: string; messages?: readonly ChatMessage[]; maxTokens: number; stop?: string[]; stream?: boolean; sessionId?: string; sampler: ReturnType<typeof samplerOf> }) {
  const sessionId = req.sessionId ?? c.req.header("x-session-id");
  const stub = sessionId !== undefined ? sessionStub(c.env, sessionId) : c.env.SESSIONS.getByName(`ephemeral-${newSessionId()}`);
  const start = unwrap((await stub.generate({ text: req.text, messages: req.messages, maxTokens: req.maxTokens, stop: req.stop, sampler: req.sampler, ephemeral: sessionId === undefined })) as Result<GenerateStart>);
  const id = `${shape === CHAT ? "chatcmpl" : "cmpl"}-${newSessionId()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = c.env.MODEL_NAME;
  const headers: Record<string, string> = sessionId ? { "x-session-id": sessionId } : {};
  const usage = (d: Extract<GenerateEvent, { type: "done" }>) => ({ prompt_tokens: d.inputTokens, completion_tokens: d.tokens.length, total_tokens: d.inputTokens + d.tokens.length });

  if (!req.stream) {
    const d = await collect(start.events);
    return c.json({ id, object: shape.object, created, model, choices: [shape.choice(d.text, openAiFinish(d.finishReason), false)], usage: usage(d) }, 200, headers);
  }
  const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => sseFrame({ id, object: shape.chunkObject, created, model, choices: [choice], ...extra });
  const frames = (e: GenerateEvent) => {
    if (e.type === "token") return e.text ? [chunk(shape.choice(e.text, null, true))] : [];
    if (e.type === "done") return [chunk(shape.choice("", openAiFinish(e.finishReason), true), { usage: usage(e) })];
    return [sseFrame(errorJson(e.error))];
  };
  return new Response(sseStream(start.events, frames, [sseFrame("[DONE]")]), { headers: { ...SSE_HEADERS, ...headers } });
}

completions.post("/completions", async (c) => {
  const b = await readBody(c, completionBody);
  return complete(c, TEXT, { text: b.prompt, maxTokens: b.max_tokens, stop: b.stop, stream: b.stream, sessionId: b.session_id, sampler: samplerOf(b) });
});

completions.post("/chat/completions", async (c) => {
  const b = await readBody(c, chatBody);
  // The session renders the messages: it has the model's chat template (or uses the plain one, see session/chat.ts).
  // In a session (x-session-id), send only the new messages: earlier turns are already in it.
  return complete(c, CHAT, { messages: b.messages, maxTokens: b.max_completion_tokens ?? b.max_tokens, stop: b.stop, stream: b.stream, sessionId: b.session_id, sampler: samplerOf(b) });
});
