// A generation as a pull stream of newline-delimited JSON events: one token per read, so a reader that stops stops the model.
import type { FinishReason, generate } from "../engine/generate";
import { errorBody } from "./errors";
import type { GenerateEvent } from "./protocol";

const encoder = new TextEncoder();
const line = (e: GenerateEvent) => encoder.encode(JSON.stringify(e) + "\n");

export interface StreamHooks {
  readonly abort: AbortController;
  readonly inputTokens: number;
  /** Tokens between two checkpoints. */
  readonly checkpointEvery: number;
  /** Persist the state mid-generation (the context and sampler are consistent between two tokens). */
  checkpoint(): void;
  /** The generation ended (finish reason), or failed (null): persist or drop, and free the session. */
  end(finish: FinishReason | null): void;
  /** Session length and context after the generation. */
  sessionTokens(): { length: number; nCtx: number };
}

export function generationStream(steps: ReturnType<typeof generate>, hooks: StreamHooks): ReadableStream<Uint8Array> {
  let sinceCheckpoint = 0;
  let closed = false;
  const end = (finish: FinishReason | null) => {
    if (closed) return;
    closed = true;
    hooks.end(finish);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        if (closed) return;
        try {
          const step = await steps.next();
          if (!step.done) {
            controller.enqueue(line({ type: "token", token: step.value.token, text: step.value.text }));
            if (step.value.token !== null && ++sinceCheckpoint >= hooks.checkpointEvery) {
              hooks.checkpoint();
              sinceCheckpoint = 0;
            }
            return;
          }
          const r = step.value;
          end(r.finishReason);
          const { length, nCtx } = hooks.sessionTokens();
          controller.enqueue(
            line({
              type: "done",
              finishReason: r.finishReason,
              canContinue: r.finishReason === "length" && length < nCtx,
              tokens: r.tokens,
              text: r.text,
              inputTokens: hooks.inputTokens,
              prefillTokens: r.timings.prefillTokens,
              sessionTokens: length,
              timings: { prefillMs: r.timings.prefillMs, decodeMs: r.timings.decodeMs },
            }),
          );
          controller.close();
        } catch (e) {
          end(null);
          controller.enqueue(line({ type: "error", error: errorBody(e) }));
          controller.close();
        }
      },
      // The reader went away (a client disconnect): stop after the current token, keep and store what was generated.
      cancel: async () => {
        if (closed) return;
        hooks.abort.abort();
        try {
          let step = await steps.next();
          while (!step.done) step = await steps.next();
          end(step.value.finishReason);
        } catch {
          end(null);
        }
      },
    },
    // No read-ahead: the next token is computed only when the reader asks for it.
    { highWaterMark: 0 },
  );
}
