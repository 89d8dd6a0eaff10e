// Fork's copy: a session's KV pages into a new session object one RPC each (a sharded model's shard by shard), then its state row.
import type { Env } from "../env";
import type { Result } from "../protocol/result";
import type { SessionInfo, SessionSnapshot } from "../protocol/session";
import { forkShards } from "../shard/session-shards";
import type { SessionStore, StoredState } from "./store";

/** Copies the stored session (`state`, pages in `store`) of object `sourceId` into the new, empty session `targetId`. */
export async function copySession(env: Env, sourceId: string, store: SessionStore, state: StoredState, targetId: string): Promise<Result<SessionInfo>> {
  const target = env.SESSIONS.getByName(targetId);
  // A sharded model's KV is copied shard by shard; the session itself then holds no pages.
  const sharded = await forkShards(env, sourceId, env.SESSIONS.idFromName(targetId).toString(), state.evaluated);
  const pageCount = sharded ? 0 : Math.ceil(state.evaluated / state.perPage);
  for (let i = 0; i < pageCount; i++) {
    const page = store.page(i);
    if (!page) throw new Error(`session storage lacks KV page ${i}`);
    await target.importPage(i, page);
  }
  const snapshot: SessionSnapshot = { settings: state.settings, samplerState: state.samplerState, tokens: state.tokens, evaluated: state.evaluated, perPage: state.perPage, pageCount };
  return (await target.importState(snapshot)) as Result<SessionInfo>;
}
