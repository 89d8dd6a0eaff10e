// Every error the API reports, in one place: the OpenAI-shaped body, the HTTP status of each kind, the exception mapper.
import { EngineError } from "../engine/errors";
import { SamplerConfigError } from "../engine/sampler-config";
import { paramOf } from "./sampler-params";

export type ErrorType = "invalid_request_error" | "not_found_error" | "conflict_error" | "rate_limit_error" | "server_error";

/** An error as the API reports it (OpenAI shape plus the HTTP status); RPC returns it as data so nothing is lost. */
export interface ErrorBody {
  readonly status: number;
  readonly message: string;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
}

/**
 * Seconds a client refused by admission control, or failed by a restarted shard, is told to wait: a short generation
 * of the small models ends well within it, and a restarted shard restores its pages on the next request's first step.
 */
export const RETRY_AFTER_S = 1;

/**
 * Transient failures a client should retry (503 with Retry-After): `shard_behind`, a shard of a sharded model that lost
 * positions since its last flush (it restarted); the session is back at its last commit, which every shard holds.
 */
const RETRYABLE_503 = new Set(["shard_behind"]);

/** OpenAI's error type follows from the status, so no call site can pair them differently. */
function typeOf(status: number): ErrorType {
  if (status === 404) return "not_found_error";
  if (status === 409) return "conflict_error";
  if (status === 429) return "rate_limit_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

export function errorOf(status: number, code: string, message: string, param: string | null = null): ErrorBody {
  return { status, type: typeOf(status), code, message, param };
}

// One constructor per kind of refusal: the status of each lives here and nowhere else.
export const invalidValue = (message: string, param: string | null = null, code = "invalid_value") => errorOf(400, code, message, param);
export const unauthorized = (message: string) => errorOf(401, "invalid_api_key", message);
export const notFoundError = (message: string, code = "not_found") => errorOf(404, code, message);
export const sessionNotFound = () => notFoundError("no such session", "session_not_found");
export const sessionBusy = () => errorOf(409, "session_busy", "this session is already generating; one generation at a time per session (retry when it ends)");
export const sessionExists = (message: string) => errorOf(409, "session_exists", message);
// 400, as OpenAI and llama.cpp answer an overflowing prompt (it was a 413 before issue 15).
export const contextTooLong = (message: string, param: string) => errorOf(400, "context_length_exceeded", message, param);
export const rateLimited = (message: string) => errorOf(429, "rate_limit_exceeded", message);
export const internalError = (code = "internal_error", message = "internal error") => errorOf(500, code, message);

/** The model cannot be loaded or a context does not fit: a clear error instead of an isolate killed for memory. */
export class HostError extends Error {
  override readonly name = "HostError";
  constructor(
    message: string,
    readonly code: "model_not_found" | "memory_budget_exceeded" | "model_load_failed" | "shards_not_configured",
  ) {
    super(message);
  }
}

/** Maps engine and host errors to API errors; anything else is a 500 with a generic message. */
export function errorBody(e: unknown): ErrorBody {
  if (e instanceof SamplerConfigError) return invalidValue(e.message, paramOf(e));
  if (e instanceof EngineError) {
    // empty_sequence: generating in a session that holds no tokens, without any text to start it (the client's mistake).
    const status = e.code === "context_length_exceeded" || e.code === "empty_sequence" || e.code.startsWith("invalid") ? 400 : RETRYABLE_503.has(e.code) ? 503 : 500;
    return errorOf(status, e.code, e.message);
  }
  if (e instanceof HostError) return errorOf(e.code === "model_load_failed" ? 500 : 503, e.code, e.message);
  // Anything else (a storage failure, a bug) may carry internals (SQL, paths): the details go to the log only.
  console.error("session error", e);
  return internalError();
}

/** The JSON body of an error response: OpenAI's `{error: {message, type, code, param}}`. */
export function errorJson(body: ErrorBody) {
  return { error: { message: body.message, type: body.type, code: body.code, param: body.param } };
}

/** Headers an error response carries: a refusal by admission control or a transient 503 says when to come back (RFC 9110 Retry-After). */
export function errorHeaders(body: ErrorBody): Record<string, string> {
  return body.status === 429 || (body.status === 503 && RETRYABLE_503.has(body.code)) ? { "retry-after": String(RETRY_AFTER_S) } : {};
}
