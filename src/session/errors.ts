// Errors a session object returns: engine, sampler and host failures mapped to API error bodies (never a stack trace).
import { EngineError } from "../engine/errors";
import { SamplerConfigError } from "../engine/sampler";
import { HostError } from "./model-host";
import { fail, type ErrorBody } from "./protocol";
import { paramOf } from "./sampling";

export const busy = () => fail(409, "conflict_error", "session_busy", "this session is already generating; one generation at a time per session (retry when it ends)");
export const notFound = () => fail(404, "not_found_error", "session_not_found", "no such session");

/** Maps engine and host errors to API errors; anything else is a 500 with a generic message. */
export function errorBody(e: unknown): ErrorBody {
  if (e instanceof SamplerConfigError) return { status: 400, type: "invalid_request_error", code: "invalid_value", message: e.message, param: paramOf(e) };
  if (e instanceof EngineError) {
    // empty_sequence: generating in a session that holds no tokens, without any text to start it (the client's mistake).
    const status = e.code === "context_length_exceeded" || e.code === "empty_sequence" || e.code.startsWith("invalid") ? 400 : 500;
    return { status, type: status === 400 ? "invalid_request_error" : "server_error", code: e.code, message: e.message, param: null };
  }
  if (e instanceof HostError) return { status: e.code === "model_load_failed" ? 500 : 503, type: "server_error", code: e.code, message: e.message, param: null };
  // Anything else (a storage failure, a bug) may carry internals (SQL, paths): the details go to the log only.
  console.error("session error", e);
  return { status: 500, type: "server_error", code: "internal_error", message: "internal error", param: null };
}
