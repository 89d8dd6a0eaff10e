// A generation over RPC: the request a session object takes, and the events it streams back token by token.
import type { FinishReason } from "../engine/generate";
import type { ErrorBody } from "./errors";
import type { SamplerConfig } from "./sampler-params";

export type { FinishReason };

/** A call an assistant turn made (OpenAI's shape); `arguments` is the JSON text of the arguments object. */
export interface ChatToolCall {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
}

/**
 * One chat turn; the session renders the turns with the model's chat template (or the plain one). An assistant turn
 * may carry the tool calls it made (content then often ""); a `tool` turn is a tool's result for `tool_call_id`.
 */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
  readonly tool_calls?: readonly ChatToolCall[];
  readonly tool_call_id?: string;
  /** The tool's name on a `tool` turn (Workers AI's runWithTools sends it instead of tool_call_id). */
  readonly name?: string;
}

/** A tool as OpenAI's `tools` entries describe it: passed to the chat template as its `tools` variable. */
export interface ChatTool {
  readonly type: "function";
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: Record<string, unknown> };
}

export interface GenerateRequest {
  /** Text appended before decoding (tokenized on its own; a BOS starts an empty session). */
  readonly text?: string;
  /** Turn special-token text in `text` ("<|im_end|>") into those tokens (llama_tokenize's parse_special); default false: literal text. */
  readonly parseSpecial?: boolean;
  /** Token ids appended instead of text, exactly as given: no BOS is added, even to an empty session. Checked against the vocabulary. */
  readonly tokens?: readonly number[];
  /** The request field `tokens` came from, for error messages (default `prompt`, the completions API's). */
  readonly tokensParam?: string;
  /** Chat messages, rendered with the model's chat template (or the plain one) and appended instead of text. */
  readonly messages?: readonly ChatMessage[];
  /** Tools the chat template renders (its `tools` variable, as transformers passes them); only with messages. */
  readonly tools?: readonly ChatTool[];
  /**
   * Chat templates without tools (the generic format): the tools' description, a system text added to `messages` in
   * the session's first request only; a later request must carry the same one (400 naming tools otherwise).
   */
  readonly toolsPrompt?: string;
  readonly maxTokens: number;
  readonly stop?: readonly string[];
  /** Sampling settings for this and later requests of the session (a changed seed reseeds the RNG). */
  readonly sampler?: Partial<SamplerConfig>;
  /** One-shot generation in a throwaway object: nothing is stored. */
  readonly ephemeral?: boolean;
  /** Session settings for an ephemeral object. */
  readonly nCtx?: number;
  /** Report each token's log-probability and its top N alternatives (0..20); absent: none. */
  readonly logprobs?: number;
  /** OpenAI's logit_bias for this request only: [token id, bias in [-100, 100]] pairs; -100 bans the token. */
  readonly logitBias?: readonly (readonly [number, number])[];
  /**
   * Choices to generate from the one prompt (ephemeral requests only): the prompt is evaluated once, then each choice
   * continues from its KV state (the sequence is cut back to the prompt between choices). Choice i samples with seed + i.
   */
  readonly n?: number;
  /** Report each choice's cumulative log-probability on its done event (best_of ranks the choices by it). */
  readonly choiceLogprob?: boolean;
  /** Return the appended input's text in GenerateStart.inputText (OpenAI's echo). */
  readonly echo?: boolean;
  /**
   * Constrained decoding for this request's generated tokens only: GBNF text (a JSON Schema or response_format arrives
   * as the GBNF the Worker compiled it to). `param` names the request field it came from, for errors. Nothing of it is
   * kept after the request: a session's next request is unconstrained unless it sends a grammar again.
   */
  readonly grammar?: { readonly gbnf: string; readonly param: string };
  /** Refuse with 400 context_length_exceeded when the input plus maxTokens does not fit in the context (OpenAI endpoints), instead of ending with context_full. */
  readonly requireRoom?: boolean;
}

/** A token as logprobs report it: its id, text (U+FFFD for part of a character), UTF-8 bytes and log-probability. */
export interface TokenChoice {
  readonly token: number;
  readonly text: string;
  readonly bytes: readonly number[];
  readonly logprob: number;
}

/** The sampled token and the most likely alternatives, most likely first (from the distribution after penalties and temperature). */
export interface TokenLogprobs extends TokenChoice {
  readonly top: readonly TokenChoice[];
}

export interface GenerateStart {
  /** Newline-delimited JSON GenerateEvents. */
  readonly events: ReadableStream<Uint8Array>;
  /** Tokens the appended text became. */
  readonly inputTokens: number;
  /** The appended input as text, when the request asked for echo. */
  readonly inputText?: string;
}

export type GenerateEvent =
  | { readonly type: "token"; readonly token: number | null; readonly text: string; readonly logprobs?: TokenLogprobs; readonly index?: number }
  | {
      readonly type: "done";
      /** The choice this ends (absent: 0); a request with n choices gets n done events, in order. */
      readonly index?: number;
      /** Sum of the sampled tokens' log-probabilities, when the request asked for choiceLogprob. */
      readonly logprob?: number;
      readonly finishReason: FinishReason;
      /** True when the generation stopped on a limit and another request continues exactly from here. */
      readonly canContinue: boolean;
      readonly tokens: readonly number[];
      readonly text: string;
      readonly inputTokens: number;
      /** Input tokens restored from the prompt cache (whole blocks of a shared prefix) instead of prefilled; 0 on a miss. */
      readonly cachedTokens?: number;
      /** Tokens evaluated before the first sampled token: pending ones only, never the restored prefix. */
      readonly prefillTokens: number;
      readonly sessionTokens: number;
      readonly timings: { readonly prefillMs: number; readonly decodeMs: number };
      /** A model served by shards: what keeping them in step cost this request (absent for a single-object model). */
      readonly shards?: ShardRequestStats;
    }
  | { readonly type: "error"; readonly error: ErrorBody; readonly shards?: ShardRequestStats };

/**
 * A request through a sharded model (docs/sharding.md): shards that had lost positions and were caught up by running
 * the batches since the last commit again, and shard objects that had to load their part of the model from R2 first
 * (a new instance). Counted from the request's start to its done (or error) event, every choice included.
 */
export interface ShardRequestStats {
  /** Steps or flushes refused with shard_behind after which the batches since the last commit ran again. */
  readonly catchUps: number;
  /** Positions those catch-ups ran through the pipeline again. */
  readonly replayedTokens: number;
  /** Shard calls that loaded their object's part of the model first, and the time those loads took (ms). */
  readonly loads: number;
  readonly loadMs: number;
}

/** The last event of a generation that ended normally. */
export type DoneEvent = Extract<GenerateEvent, { type: "done" }>;
