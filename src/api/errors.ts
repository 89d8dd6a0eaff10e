// The Hono side of the one error mapper (src/protocol/errors.ts): ApiError to throw, and the app's onError that answers it.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorHeaders, errorJson, internalError, invalidValue, notFoundError, type ErrorBody } from "../protocol";

export { errorJson };

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }

  static invalid(message: string, param: string | null = null, code = "invalid_value"): ApiError {
    return new ApiError(invalidValue(message, param, code));
  }

  static notFound(message: string, code = "not_found"): ApiError {
    return new ApiError(notFoundError(message, code));
  }
}

export function errorResponse(c: Context, body: ErrorBody): Response {
  for (const [name, value] of Object.entries(errorHeaders(body))) c.header(name, value);
  return c.json(errorJson(body), body.status as ContentfulStatusCode);
}

/** The app's onError: known errors keep their status; anything else is a 500 whose details stay in the log. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(c, err.body);
  console.error("unhandled error", err);
  return errorResponse(c, internalError());
}
