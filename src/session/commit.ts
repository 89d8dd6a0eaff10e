// The session's commit point: a sharded model's shards make their pages durable up to the evaluated count, then the session writes its state.
import type { FinishReason } from "../engine/generate";
import { flushPipeline } from "../shard/pipeline-context";
import { writeLive, type Live } from "./live-state";
import type { SessionStore } from "./store";

/**
 * Commits the live state. A single-object model writes it now, synchronously, as always. A sharded one first has every
 * layer shard write its pages up to the evaluated count (in parallel), and only then writes the state row: the
 * committed evaluated count is never ahead of any shard's durable pages, so a restart always finds them. `current`
 * says whether the context is still the session's after that wait (a delete meanwhile writes nothing).
 */
export function commitLive(store: SessionStore, live: Live, finish: FinishReason | null, current: () => boolean): void | Promise<void> {
  const n = live.llm.nEvaluated;
  const flushing = flushPipeline(live.llm, n);
  if (!flushing) return writeLive(store, live, finish);
  return flushing.then(() => {
    // The generation waits for its checkpoint, so nothing moved; if something did, only a later commit may cover it.
    if (current() && live.llm.nEvaluated === n) writeLive(store, live, finish);
  });
}

/** `next` after `r`: synchronous unless `r` is a promise (only the sharded path's commits are), so the single-object path keeps its timing. */
export function andThen(r: void | Promise<void>, next: () => void): void | Promise<void> {
  return r ? r.then(next) : next();
}

/** Runs `body`, then `last(failed)` whether it threw or not: synchronously unless `body` returned a promise. */
export function finallyDo(body: () => void | Promise<void>, last: (failed: boolean) => void): void | Promise<void> {
  let r: void | Promise<void>;
  try {
    r = body();
  } catch (e) {
    last(true);
    throw e;
  }
  if (!r) return last(false);
  return r.then(
    () => last(false),
    (e: unknown) => {
      last(true);
      throw e;
    },
  );
}
