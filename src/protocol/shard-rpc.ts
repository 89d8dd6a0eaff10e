// The ModelShard object's RPC surface: one forward step of a session through the shard, and the housekeeping of its KV.
import type { ShardSpec } from "../shard/plan";
import type { Result } from "./result";

/**
 * A shard's answer to a step, a flush or a trim: with `loadMs` when that call found the object without its part of the
 * model (a new instance: its first call, or the object was evicted and started again) and loaded it from R2 first, how
 * long that took (ms), whether the call then succeeded or was refused.
 */
export type ShardResult<T> = Result<T> & { readonly loadMs?: number };

/** One step through one shard. Activations travel as raw float32 bytes (ArrayBuffer), never as JSON numbers. */
export interface ShardForward {
  /** The shard's part of the plan: an object serves exactly one spec (its name is derived from it). */
  readonly spec: ShardSpec;
  /** The session's key (its object id): the shard keeps one KV cache per session. */
  readonly session: string;
  /** Context length of the session (the shard's cache for it is sized to it). */
  readonly nCtx: number;
  readonly pos0: number;
  readonly tokens: readonly number[];
  /** Residual stream [rows × dim] as float32 bytes, from the shard before. */
  readonly x?: ArrayBuffer;
  readonly allLogits: boolean;
  /** Greedy decoding: a classifier shard sends the best logit of its rows (`best`) instead of the rows (src/shard/greedy.ts). */
  readonly argmax?: boolean;
  /** With `argmax` on a tied model: also send the best token's embedding row (`bestX`), the next greedy step's input. */
  readonly embedBest?: boolean;
  /** The batch's logits are not wanted: a shard with layers and classifier rows stops after its layers. */
  readonly skipHead?: boolean;
  /**
   * The positions belong to a session whose commits flush them to SQLite pages (false for a throwaway generation, of
   * which nothing is ever written). A step itself writes no page: see flush.
   */
  readonly persist: boolean;
}

export interface ShardOutputWire {
  readonly x?: ArrayBuffer;
  readonly logits?: ArrayBuffer;
  /** With `argmax`: the best of the shard's logits (token -1 when none is finite). */
  readonly best?: { readonly token: number; readonly logit: number };
  /** With `embedBest`: the embedding row of `best.token` as float32 bytes. */
  readonly bestX?: ArrayBuffer;
  /** Time spent inside the shard on this step (ms): the forward pass, and writing pages (only when the step overwrites stored positions). */
  readonly computeMs?: number;
  readonly persistMs?: number;
}

/** What a shard stores and holds, for storage accounting and tests. */
export interface ShardStats {
  /** Positions run through this shard's layers since its isolate started. */
  readonly forwarded: number;
  /** Positions written back into a cache from pages since its isolate started. */
  readonly restored: number;
  /** Sessions whose cache is in memory. */
  readonly live: number;
  /** Per session: positions stored in pages. */
  readonly stored: Readonly<Record<string, number>>;
  readonly pageBytes: number;
  readonly databaseBytes: number;
  /** The asked-for session's pages in this shard. */
  readonly session?: { readonly pages: number; readonly bytes: number };
  /** Steps served since the isolate started, and the time they spent computing and writing pages (ms). */
  readonly steps: number;
  readonly computeMs: number;
  readonly persistMs: number;
  /**
   * The time from a step's arrival in the object to its answer being built (ms, summed): the forward pass and page
   * writes plus the object's own work around them (finding the session's cache, copying the activations in and out).
   * What a caller sees beyond it is the RPC itself. A load of the object's part is not in it (ShardResult.loadMs).
   */
  readonly handlerMs: number;
  /** Page write transactions (flushes, trims, forks, caches dropped for room) and the pages they wrote. */
  readonly saves: number;
  readonly pagesWritten: number;
  /** The backend's accounting of this isolate's memory (weights, KV caches, run buffers, reserved), null before the load. */
  readonly memory: { readonly weightsBytes: number; readonly kvBytes: number; readonly scratchBytes: number; readonly reservedBytes: number } | null;
  /** A random id of the isolate the object runs in (per-shard scripts report it): objects sharing an isolate share it. */
  readonly isolate?: string;
}

export interface ShardRpc extends Rpc.DurableObjectBranded {
  /**
   * One step. It writes no page (the KV stays in memory until a flush); a step past the positions the shard holds (it
   * lost some since its last flush) is refused with the error code `shard_behind`, never computed on the hole.
   */
  forward(req: ShardForward): Promise<ShardResult<ShardOutputWire>>;
  /**
   * Makes the session's first n positions durable in pages (answered once written); `shard_behind` when the shard holds
   * fewer. The session calls it on every layer shard before it commits an evaluated count of n.
   */
  flush(spec: ShardSpec, session: string, n: number): Promise<ShardResult<{ stored: number; persistMs: number }>>;
  /** Drops the session's positions at and past n, in memory and in pages (rewind, and the commit point after a restart). */
  trim(spec: ShardSpec, session: string, n: number): Promise<ShardResult<{ evaluated: number }>>;
  /**
   * Copies the first n positions of `source` to `target` (fork), pages included; to the replica object named
   * `targetShard` when the target session maps to another replica (sent there with importKv).
   */
  fork(spec: ShardSpec, source: string, target: string, n: number, targetShard?: string): Promise<Result<{ copied: number }>>;
  /** A fork's positions [pos0, pos0 + rows) arriving from another replica (float32, Backend.readKv's layout). */
  importKv(spec: ShardSpec, session: string, nCtx: number, pos0: number, data: ArrayBuffer): Promise<Result<{ evaluated: number }>>;
  /** Forgets the session: cache and every page. */
  drop(session: string): Promise<Result<{ dropped: boolean }>>;
  /**
   * Takes the session's cache out of memory, leaving its pages (a throwaway generation ended: it has none). Positions of
   * a session not yet in its pages are written first, as when a cache is dropped for room.
   */
  release(session: string): Promise<Result<{ released: boolean }>>;
  stats(session?: string): Promise<ShardStats>;
  /** An empty round trip carrying `data` (its byte length comes back): measures one RPC leg's cost. */
  ping(data?: ArrayBuffer): Promise<number>;
  /**
   * An empty chain: `data` goes on to the shard objects named in `rest`, one after another, and the last hands it to
   * `reply` (a function of the caller's, called back over RPC). Measures a chain's legs against ping's star.
   */
  relay(rest: readonly string[], data: ArrayBuffer, reply: (data: ArrayBuffer) => Promise<void>): Promise<void>;
}
