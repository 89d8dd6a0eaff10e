// What crosses the RPC boundary between the Worker and a session object: requests, results and generation events.
import type { FinishReason } from "../engine/generate";
import type { SamplerConfig } from "../engine/sampler";
import type { ChatMessage } from "./chat";

/** An error as the API reports it (OpenAI shape plus the HTTP status); RPC returns it as data so nothing is lost. */
export interface ErrorBody {
  readonly status: number;
  readonly message: string;
  readonly type: "invalid_request_error" | "not_found_error" | "conflict_error" | "rate_limit_error" | "server_error";
  readonly code: string;
  readonly param: string | null;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorBody };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (status: number, type: ErrorBody["type"], code: string, message: string, param: string | null = null): Result<never> => ({
  ok: false,
  error: { status, type, code, message, param },
});

/** Settings a session is created with; sampling settings change when a request passes new ones. */
export interface SessionSettings {
  readonly nCtx: number;
  readonly sampler: SamplerConfig;
}

export interface SessionInfo {
  readonly createdAt: number;
  /** Tokens in the session (evaluated and pending). */
  readonly tokenCount: number;
  /** Tokens whose K/V are in the cache (and in the stored pages). */
  readonly evaluated: number;
  readonly text: string;
  readonly settings: SessionSettings;
  readonly storage: StorageInfo;
  readonly generating: boolean;
  readonly lastFinishReason: FinishReason | null;
}

export interface StorageInfo {
  /** KV page rows and their total size: evaluated × bytesPerPosition. */
  readonly kvPages: number;
  readonly kvBytes: number;
  readonly bytesPerPosition: number;
  readonly positionsPerPage: number;
  /** Token log and settings rows. */
  readonly stateBytes: number;
  /** kvBytes + stateBytes: what the session stores. */
  readonly storedBytes: number;
  /** Size of the object's SQLite database file (pages, indexes and free space included). */
  readonly databaseBytes: number;
}

export interface GenerateRequest {
  /** Text appended before decoding (tokenized on its own; a BOS starts an empty session). */
  readonly text?: string;
  /** Token ids appended instead of text, exactly as given: no BOS is added, even to an empty session. Checked against the vocabulary. */
  readonly tokens?: readonly number[];
  /** The request field `tokens` came from, for error messages (default `prompt`, the completions API's). */
  readonly tokensParam?: string;
  /** Chat messages, rendered with the model's chat template (or the plain one) and appended instead of text. */
  readonly messages?: readonly ChatMessage[];
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
  /** Refuse with 413 when the input plus maxTokens does not fit in the context (OpenAI endpoints), instead of ending with context_full. */
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
}

export type GenerateEvent =
  | { readonly type: "token"; readonly token: number | null; readonly text: string; readonly logprobs?: TokenLogprobs }
  | {
      readonly type: "done";
      readonly finishReason: FinishReason;
      /** True when the generation stopped on a limit and another request continues exactly from here. */
      readonly canContinue: boolean;
      readonly tokens: readonly number[];
      readonly text: string;
      readonly inputTokens: number;
      /** Tokens evaluated before the first sampled token: pending ones only, never the restored prefix. */
      readonly prefillTokens: number;
      readonly sessionTokens: number;
      readonly timings: { readonly prefillMs: number; readonly decodeMs: number };
    }
  | { readonly type: "error"; readonly error: ErrorBody };

/** A session's state for fork: everything but the KV pages, which follow one RPC each (≤ 1 MiB per call). */
export interface SessionSnapshot {
  readonly settings: SessionSettings;
  readonly samplerState: string;
  readonly tokens: readonly number[];
  readonly evaluated: number;
  readonly perPage: number;
  readonly pageCount: number;
}
