// Reading a session's generation events in the Worker: NDJSON lines to objects, SSE framing, and collecting a whole result.
import { internalError, type DoneEvent, type GenerateEvent, type TokenLogprobs } from "../protocol";
import { ApiError } from "./errors";

/** Splits the byte stream into lines and parses each as a GenerateEvent (RPC may re-chunk the bytes anywhere). */
export function parseEvents(): TransformStream<Uint8Array, GenerateEvent> {
  const decoder = new TextDecoder();
  let buffered = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const lineText = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (lineText) controller.enqueue(JSON.parse(lineText) as GenerateEvent);
      }
    },
    flush(controller) {
      buffered += decoder.decode();
      if (buffered.trim()) controller.enqueue(JSON.parse(buffered) as GenerateEvent);
    },
  });
}

/** OpenAI's (and Workers AI's) usage object of a finished generation. */
export function usageOf(d: DoneEvent): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: d.inputTokens, completion_tokens: d.tokens.length, total_tokens: d.inputTokens + d.tokens.length };
}

/** Reads every event and returns the final one with the tokens' log-probabilities (when asked for); an error event becomes an ApiError. */
export async function collect(events: ReadableStream<Uint8Array>): Promise<{ done: DoneEvent; logprobs: TokenLogprobs[] }> {
  const reader = events.pipeThrough(parseEvents()).getReader();
  const logprobs: TokenLogprobs[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError(internalError("stream_ended", "the generation ended without a result"));
    if (value.type === "done") return { done: value, logprobs };
    if (value.type === "error") throw new ApiError(value.error);
    if (value.logprobs) logprobs.push(value.logprobs);
  }
}

const encoder = new TextEncoder();

/** One SSE frame per object (an optional event name), or the raw `[DONE]` marker. */
export function sseFrame(data: unknown, event?: string): Uint8Array {
  const body = typeof data === "string" ? data : JSON.stringify(data);
  return encoder.encode(`${event ? `event: ${event}\n` : ""}data: ${body}\n\n`);
}

/**
 * Turns the events into an SSE response body: `frame` maps each event to zero or more frames. Cancelling the body
 * (the client went away) cancels the session's stream, which stops the generation after the current token.
 */
export function sseStream(events: ReadableStream<Uint8Array>, frame: (e: GenerateEvent) => Uint8Array[], trailer: Uint8Array[] = []): ReadableStream<Uint8Array> {
  return events.pipeThrough(parseEvents()).pipeThrough(
    new TransformStream<GenerateEvent, Uint8Array>({
      transform(e, controller) {
        for (const f of frame(e)) controller.enqueue(f);
      },
      flush(controller) {
        for (const f of trailer) controller.enqueue(f);
      },
    }),
  );
}

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };
