// The Worker's side of the session objects: ids, stubs, and RPC results unwrapped into values or ApiErrors.
import type { Env } from "../env";
import type { Result, SessionInfo } from "../protocol";
import { ApiError } from "./errors";

const ID = /^[0-9a-f]{32}$/;

/** A new session id: 128 random bits as 32 hex digits (unguessable, so the id is the session's capability). */
export function newSessionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The stub of an existing-looking session id; a malformed id is a 404 without waking any object. */
export function sessionStub(env: Env, id: string) {
  if (!ID.test(id)) throw ApiError.notFound("no such session", "session_not_found");
  return env.SESSIONS.getByName(id);
}

/** A fresh object for a one-off generation that keeps nothing (its id can never collide with a session's). */
export function ephemeralStub(env: Env) {
  return env.SESSIONS.getByName(`ephemeral-${newSessionId()}`);
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new ApiError(r.error);
  return r.value;
}

/** A session as the API shows it. */
export function sessionJson(id: string, s: SessionInfo) {
  const c = s.settings.sampler;
  return {
    id,
    object: "session",
    created: Math.floor(s.createdAt / 1000),
    token_count: s.tokenCount,
    evaluated_tokens: s.evaluated,
    text: s.text,
    generating: s.generating,
    last_finish_reason: s.lastFinishReason,
    settings: {
      n_ctx: s.settings.nCtx,
      temperature: c.temperature,
      top_k: c.topK,
      top_p: c.topP,
      min_p: c.minP,
      repetition_penalty: c.repetitionPenalty,
      frequency_penalty: c.frequencyPenalty,
      presence_penalty: c.presencePenalty,
      penalty_last_n: c.penaltyLastN,
      seed: c.seed,
    },
    storage: {
      stored_bytes: s.storage.storedBytes,
      kv_bytes: s.storage.kvBytes,
      kv_pages: s.storage.kvPages,
      state_bytes: s.storage.stateBytes,
      bytes_per_position: s.storage.bytesPerPosition,
      positions_per_page: s.storage.positionsPerPage,
      database_bytes: s.storage.databaseBytes,
    },
  };
}
