// The native session API: create, inspect, generate (JSON or SSE), rewind, fork and delete a session.
import { Hono } from "hono";
import type { Env } from "../env";
import type { DoneEvent, GenerateEvent, Result, SessionInfo, TokenLogprobs } from "../protocol";
import { collect, SSE_HEADERS, sseFrame, sseStream } from "./events";
import { nativeLogprobs } from "./logprobs";
import { arrivedAt, eventMeter } from "./metrics";
import { createSessionBody, generateBody, rewindBody, samplerOf } from "./schemas";
import { newSessionId, sessionJson, sessionStub, unwrap } from "./session-client";
import { structuredGrammar } from "./structured-output";
import { readBody } from "./validate";

export const sessions = new Hono<{ Bindings: Env }>();

/** A finished generation; `logprobs` only when the request asked for them. */
function generationJson(id: string, d: DoneEvent, logprobs?: readonly TokenLogprobs[]) {
  return {
    id,
    object: "session.generation",
    text: d.text,
    tokens: d.tokens,
    finish_reason: d.finishReason,
    can_continue: d.canContinue,
    usage: { input_tokens: d.inputTokens, output_tokens: d.tokens.length, prefill_tokens: d.prefillTokens, session_tokens: d.sessionTokens },
    timings: { prefill_ms: d.timings.prefillMs, decode_ms: d.timings.decodeMs },
    // A sharded model only: catch-ups of shards that lost positions, and shard objects that loaded their part (docs/sharding.md).
    ...(d.shards && { shards: { catch_ups: d.shards.catchUps, replayed_tokens: d.shards.replayedTokens, loads: d.shards.loads, load_ms: d.shards.loadMs } }),
    ...(logprobs ? { logprobs: nativeLogprobs(logprobs) } : {}),
  };
}

sessions.post("/", async (c) => {
  const body = await readBody(c, createSessionBody, { optional: true });
  const id = newSessionId();
  const info = unwrap((await c.env.SESSIONS.getByName(id).create({ nCtx: body.n_ctx, sampler: samplerOf(body) })) as Result<SessionInfo>);
  return c.json(sessionJson(id, info), 201);
});

sessions.get("/:id", async (c) => {
  const id = c.req.param("id");
  return c.json(sessionJson(id, unwrap((await sessionStub(c.env, id).info()) as Result<SessionInfo>)));
});

sessions.post("/:id/generate", async (c) => {
  const id = c.req.param("id");
  const stub = sessionStub(c.env, id);
  const body = await readBody(c, generateBody, { optional: true });
  const start = unwrap(await stub.generate({ text: body.text, parseSpecial: body.parse_special, tokens: body.tokens, tokensParam: "tokens", maxTokens: body.max_tokens, stop: body.stop, sampler: samplerOf(body), logprobs: body.logprobs, grammar: structuredGrammar(body) }));
  if (!body.stream) {
    const { done, logprobs } = await collect(start.events, eventMeter(arrivedAt(c)));
    return c.json(generationJson(id, done, body.logprobs === undefined ? undefined : logprobs));
  }
  const frames = (e: GenerateEvent) => {
    if (e.type === "token") {
      const logprobs = e.logprobs ? { logprobs: nativeLogprobs([e.logprobs])[0] } : {};
      return e.text || e.logprobs ? [sseFrame({ token: e.token, text: e.text, ...logprobs }, "token")] : [];
    }
    if (e.type === "done") return [sseFrame(generationJson(id, e), "done")];
    return [sseFrame({ error: { message: e.error.message, type: e.error.type, code: e.error.code, param: e.error.param } }, "error")];
  };
  return new Response(sseStream(start.events, frames, [], eventMeter(arrivedAt(c))), { headers: SSE_HEADERS });
});

sessions.post("/:id/rewind", async (c) => {
  const id = c.req.param("id");
  const stub = sessionStub(c.env, id);
  const body = await readBody(c, rewindBody);
  return c.json(sessionJson(id, unwrap((await stub.rewind(body.tokens)) as Result<SessionInfo>)));
});

sessions.post("/:id/fork", async (c) => {
  const stub = sessionStub(c.env, c.req.param("id"));
  const id = newSessionId();
  return c.json(sessionJson(id, unwrap((await stub.forkTo(id)) as Result<SessionInfo>)), 201);
});

sessions.delete("/:id", async (c) => {
  const id = c.req.param("id");
  unwrap(await sessionStub(c.env, id).destroy());
  return c.json({ id, object: "session.deleted", deleted: true });
});
