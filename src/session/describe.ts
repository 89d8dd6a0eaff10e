// Pure helpers of the session object: settings of a new session, the KV layout and page size, and the session as SessionInfo.
import type { FinishReason } from "../engine/generate";
import type { KvType } from "../backends/kv-format";
import { kvBytesPerPosition, MAX_PAGE_BYTES } from "../engine/kv-pages";
import type { LlamaModel } from "../engine/model";
import { Sampler } from "../engine/sampler";
import { numberVar, type Env } from "../env";
import { invalidValue } from "../protocol/errors";
import { fail, ok, type Result } from "../protocol/result";
import type { CreateSessionInput, SessionInfo, SessionSettings } from "../protocol/session";
import { randomSeed } from "./sampling";
import type { SessionStore, StoredState } from "./store";

/**
 * Settings of a new session: n_ctx within the model's training context, a validated sampler config with a random
 * default seed, and the KV type (q8_0 on a model whose heads are not whole 32-blocks stores f16 instead).
 */
export function newSettings(model: LlamaModel, input: CreateSessionInput, defaultCtx: number, kvType: KvType = "f32"): Result<SessionSettings> {
  const max = model.config.nCtxTrain;
  const nCtx = input.nCtx ?? defaultCtx;
  if (!Number.isInteger(nCtx) || nCtx < 1 || nCtx > max) return fail(invalidValue(`n_ctx must be an integer in [1, ${max}] (the model's context), got ${nCtx}`, "n_ctx"));
  const given = Object.fromEntries(Object.entries(input.sampler ?? {}).filter(([, v]) => v !== undefined));
  const sampler = new Sampler({ seed: randomSeed(), ...given });
  const type = kvType === "q8_0" && model.config.headDim % 32 !== 0 ? "f16" : kvType;
  return ok({ nCtx, sampler: { ...sampler.config }, ...(type === "f32" ? {} : { kvType: type }) });
}

/** The KV layout of a session of `nCtx` tokens whose cache stores `type` (f32 when absent, as stored before KV types). */
export function layoutOf(model: LlamaModel, nCtx: number, type: KvType = "f32") {
  const c = model.config;
  return { nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim, type };
}

/** KV page size in bytes: KV_PAGE_BYTES, never over 1 MiB (Durable Object SQLite rows must stay under 2 MB). */
export function pageBytes(env: Env): number {
  return Math.min(numberVar(env, "KV_PAGE_BYTES", MAX_PAGE_BYTES), MAX_PAGE_BYTES);
}

/** The session's text: a leading BOS is dropped first, so the text reads as the client sent it (no extra space). */
function textOf(model: LlamaModel, tokens: readonly number[]): string {
  return model.tokenizer.decode(tokens[0] === model.tokenizer.bosId ? tokens.slice(1) : tokens);
}

export function describeSession(model: LlamaModel, state: StoredState, sizes: ReturnType<SessionStore["sizes"]>, generating: boolean): SessionInfo {
  const layout = layoutOf(model, state.settings.nCtx, state.settings.kvType);
  return {
    createdAt: state.createdAt,
    tokenCount: state.tokens.length,
    evaluated: state.evaluated,
    text: textOf(model, state.tokens),
    settings: state.settings,
    storage: { ...sizes, bytesPerPosition: kvBytesPerPosition(layout), positionsPerPage: state.perPage, storedBytes: sizes.kvBytes + sizes.stateBytes },
    generating,
    lastFinishReason: state.lastFinish as FinishReason | null,
  };
}
