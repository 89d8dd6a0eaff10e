// One error mapper: every failure becomes OpenAI-shaped JSON {error: {message, type, code, param}} with its HTTP status.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { RETRY_AFTER_S } from "../session/admission";
import type { ErrorBody } from "../session/protocol";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }

  static invalid(message: string, param: string | null = null, code = "invalid_value"): ApiError {
    return new ApiError({ status: 400, type: "invalid_request_error", code, message, param });
  }

  static notFound(message: string, code = "not_found"): ApiError {
    return new ApiError({ status: 404, type: "not_found_error", code, message, param: null });
  }
}

export function errorJson(body: ErrorBody) {
  return { error: { message: body.message, type: body.type, code: body.code, param: body.param } };
}

export function errorResponse(c: Context, body: ErrorBody): Response {
  // A refusal by admission control says when to come back (RFC 9110 Retry-After, in seconds).
  if (body.status === 429) c.header("retry-after", String(RETRY_AFTER_S));
  return c.json(errorJson(body), body.status as ContentfulStatusCode);
}

/** The app's onError: known errors keep their status; anything else is a 500 whose details stay in the log. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(c, err.body);
  console.error("unhandled error", err);
  return errorResponse(c, { status: 500, type: "server_error", code: "internal_error", message: "internal error", param: null });
}
