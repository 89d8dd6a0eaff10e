// Bearer API-key auth: when the API_KEY secret is set, /v1 routes need `Authorization: Bearer <key>` (compared in constant time).
import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { unauthorized as unauthorizedBody } from "../protocol";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * True when `given` equals `expected`. Both are hashed first, so the comparison runs over 32 bytes whatever their
 * lengths, and the XOR loop never exits early: the time taken says nothing about how much of the key matched.
 */
export async function keysEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m ? m[1]! : null;
}

const unauthorized = (message: string) => new ApiError(unauthorizedBody(message));

/**
 * Hono middleware: without API_KEY configured every request passes (local development); with it, a missing or
 * wrong key is a 401 whose message never repeats what was sent.
 */
export const requireApiKey: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const expected = c.env.API_KEY;
  if (expected === undefined || expected === "") return next();
  const token = bearerToken(c.req.header("authorization"));
  c.header("www-authenticate", 'Bearer realm="edge-llama"');
  if (token === null) throw unauthorized("missing API key: send it as `Authorization: Bearer <key>`");
  if (!(await keysEqual(token, expected))) throw unauthorized("incorrect API key");
  return next();
};
