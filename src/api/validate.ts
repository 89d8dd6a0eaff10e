// Request bodies: JSON parsing and zod validation, reported as 400s that name the offending parameter.
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors";

/** Parses the body as JSON (an empty body counts as {} when `optional`) and validates it. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S, options: { optional?: boolean } = {}): Promise<z.output<S>> {
  const raw = await c.req.text();
  let json: unknown;
  if (raw.trim() === "" && options.optional) json = {};
  else {
    try {
      json = JSON.parse(raw);
    } catch {
      throw ApiError.invalid("the request body is not valid JSON", null, "invalid_json");
    }
  }
  return validate(schema, json);
}

/** Validates a parsed value; the first issue becomes a 400 naming its parameter (dotted path). */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A key a strict object does not know: named as the parameter, so nothing the client sent is silently dropped.
    if (issue.code === "unrecognized_keys") {
      const param = [...issue.path, issue.keys[0]!].map(String).join(".");
      throw ApiError.invalid(`${param} is not a supported parameter of this endpoint`, param);
    }
    const param = issue.path.length > 0 ? issue.path.map(String).join(".") : null;
    // A message that already names its parameter ("suffix is not supported") is not prefixed with it again.
    const named = param !== null && issue.message.startsWith(`${param} `);
    throw ApiError.invalid(param && !named ? `${param}: ${issue.message}` : issue.message, param);
  }
  return parsed.data;
}
