// The in-memory half of a session (context, sampler, what storage holds) and its two moves: write to SQLite, restore from it.
import type { LlamaContext } from "../engine/context";
import type { FinishReason } from "../engine/generate";
import { dirtyPages, joinPages, readPage } from "../engine/kv-pages";
import type { LlamaModel } from "../engine/model";
import { Sampler, type SamplerState } from "../engine/sampler";
import type { SessionStore, StoredState } from "./store";
import { isPipeline } from "../shard/session-shards";

export interface Live {
  readonly model: LlamaModel;
  readonly llm: LlamaContext;
  sampler: Sampler;
  state: StoredState;
  /** Evaluated positions already in the stored pages. */
  persistedEvaluated: number;
  readonly ephemeral: boolean;
}

/** Writes the token log, sampler and the new or changed KV pages in one transaction; earlier pages are untouched. */
export function writeLive(store: SessionStore, live: Live, finish: FinishReason | null): void {
  const { llm } = live;
  const perPage = live.state.perPage;
  // A sharded model's KV pages are written by its shards, in each step: the session stores only its state row.
  const pages = isPipeline(llm) ? new Map<number, Uint8Array>() : new Map(dirtyPages(live.persistedEvaluated, llm.nEvaluated, perPage).map((i) => [i, readPage(llm, i, perPage)] as const));
  live.state = { ...live.state, samplerState: JSON.stringify(live.sampler.state()), tokens: [...llm.tokens], evaluated: llm.nEvaluated, lastFinish: finish ?? live.state.lastFinish };
  store.save(live.state, pages);
  live.persistedEvaluated = llm.nEvaluated;
}

/** Fills a fresh context from the stored pages (nothing is recomputed) and revives the sampler, RNG included. */
export function restoreLive(store: SessionStore, state: StoredState, model: LlamaModel, llm: LlamaContext): Live {
  if (isPipeline(llm)) {
    // The shards keep the KV; restoring trims them to the committed state (positions past it belong to no session).
    llm.restore(state.tokens, state.evaluated, new Uint8Array(0));
    return { model, llm, sampler: Sampler.fromState(JSON.parse(state.samplerState) as SamplerState), state, persistedEvaluated: state.evaluated, ephemeral: false };
  }
  const pages = store.pages(Math.ceil(state.evaluated / state.perPage));
  llm.restore(state.tokens, state.evaluated, joinPages(pages, llm.cache.layout, state.evaluated));
  const sampler = Sampler.fromState(JSON.parse(state.samplerState) as SamplerState);
  return { model, llm, sampler, state, persistedEvaluated: state.evaluated, ephemeral: false };
}
