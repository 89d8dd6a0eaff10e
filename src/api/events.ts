// Reading a session's generation events in the Worker: NDJSON lines to objects, SSE framing, and collecting a whole result.
import { internalError, type DoneEvent, type GenerateEvent, type TokenLogprobs } from "../protocol";
import { ApiError } from "./errors";

/** Sees every event as it arrives (the metrics' meter). */
export type EventObserver = (e: GenerateEvent) => void;

/** Splits the byte stream into lines and parses each as a GenerateEvent (RPC may re-chunk the bytes anywhere). */
export function parseEvents(observe?: EventObserver): TransformStream<Uint8Array, GenerateEvent> {
  const decoder = new TextDecoder();
  let buffered = "";
  const emit = (controller: TransformStreamDefaultController<GenerateEvent>, e: GenerateEvent) => {
    observe?.(e);
    controller.enqueue(e);
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const lineText = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (lineText) emit(controller, JSON.parse(lineText) as GenerateEvent);
      }
    },
    flush(controller) {
      buffered += decoder.decode();
      if (buffered.trim()) emit(controller, JSON.parse(buffered) as GenerateEvent);
    },
  });
}

/** OpenAI's (and Workers AI's) usage object of a finished generation: the prompt once, the tokens of every choice. */
export function usageOf(...dones: DoneEvent[]): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = dones[0]?.inputTokens ?? 0;
  const completion = dones.reduce((n, d) => n + d.tokens.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** OpenAI's usage, with the prompt tokens the prompt cache served in prompt_tokens_details.cached_tokens (0 on a miss). */
export function openAiUsageOf(...dones: DoneEvent[]) {
  return { ...usageOf(...dones), prompt_tokens_details: { cached_tokens: dones[0]?.cachedTokens ?? 0 } };
}

/** One finished choice: its done event and its tokens' log-probabilities (when asked for). */
export interface Collected {
  readonly done: DoneEvent;
  readonly logprobs: TokenLogprobs[];
}

/** Reads every event of `count` choices (events name their choice by `index`); an error event becomes an ApiError. */
export async function collectChoices(events: ReadableStream<Uint8Array>, count: number, observe?: EventObserver): Promise<Collected[]> {
  const reader = events.pipeThrough(parseEvents(observe)).getReader();
  const logprobs: TokenLogprobs[][] = Array.from({ length: count }, () => []);
  const dones: DoneEvent[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError(internalError("stream_ended", "the generation ended without a result"));
    if (value.type === "error") throw new ApiError(value.error);
    const i = value.index ?? 0;
    if (value.type === "token" && value.logprobs) logprobs[i]?.push(value.logprobs);
    if (value.type === "done") {
      dones[i] = value;
      if (i === count - 1) return dones.map((d, j) => ({ done: d, logprobs: logprobs[j]! }));
    }
  }
}

/** Reads every event of a one-choice generation and returns the final one with the tokens' log-probabilities. */
export async function collect(events: ReadableStream<Uint8Array>, observe?: EventObserver): Promise<Collected> {
  return (await collectChoices(events, 1, observe))[0]!;
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
export function sseStream(events: ReadableStream<Uint8Array>, frame: (e: GenerateEvent) => Uint8Array[], trailer: Uint8Array[] = [], observe?: EventObserver): ReadableStream<Uint8Array> {
  return events.pipeThrough(parseEvents(observe)).pipeThrough(
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
