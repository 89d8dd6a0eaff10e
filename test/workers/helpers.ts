// Shared helpers for the Worker tests: the model seeded into R2, JSON requests, SSE parsing and llama.cpp's reference run.
import { env, SELF } from "cloudflare:test";

export const BASE = "https://edge-llama.test";

/** Puts the test model into the MODELS bucket (the Worker loads weights from R2, as in production). */
export async function seedModel(): Promise<void> {
  if (!(await env.MODELS.head(env.MODEL_NAME))) await env.MODELS.put(env.MODEL_NAME, env.TEST_MODEL_STORIES260K);
}

export interface Reference {
  models: { file: string; runs: { prompt: string; promptTokens: number[]; generatedTokens: number[]; generatedText: string }[] }[];
}

export function referenceRun() {
  const reference = JSON.parse(env.TEST_REFERENCE_OUTPUTS) as Reference;
  return reference.models.find((m) => m.file === "stories260K.gguf")!.runs[0]!;
}

export function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  return SELF.fetch(BASE + path, init);
}

export async function json<T = any>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function createSession(settings: Record<string, unknown> = {}): Promise<any> {
  return json(await call("POST", "/v1/sessions", settings), 201);
}

export interface SseFrame {
  event?: string;
  data: string;
}

/** Splits an SSE body into frames (event name and data). */
export function parseSse(body: string): SseFrame[] {
  return body
    .split("\n\n")
    .filter((f) => f.trim() !== "")
    .map((f) => {
      const frame: SseFrame = { data: "" };
      for (const line of f.split("\n")) {
        if (line.startsWith("event: ")) frame.event = line.slice(7);
        else if (line.startsWith("data: ")) frame.data += line.slice(6);
      }
      return frame;
    });
}
