// A shard's per-session KV caches: held in memory, dropped least recently used for room, written to and restored from its pages.
import { budgetBytes, type Env } from "../env";
import { HostError } from "../protocol/errors";
import type { ShardEngine, ShardSeq } from "./shard-engine";
import { joinShardPages, readShardPage, shardPageBytes } from "./shard-pages";
import type { ShardStore } from "./shard-store";

export interface Held {
  readonly seq: ShardSeq;
  readonly nCtx: number;
  readonly perPage: number;
  /** Positions already in the pages. */
  persisted: number;
  lastUsed: number;
  /** A session's positions may be written to pages (false for a throwaway generation: nothing of it is ever stored). */
  durable: boolean;
}

export class ShardCaches {
  private readonly held = new Map<string, Held>();
  private clock = 0;
  /** Positions restored from pages, page write transactions and pages written since the isolate started (stats). */
  restored = 0;
  saves = 0;
  pagesWritten = 0;

  constructor(
    private readonly store: ShardStore,
    private readonly env: Env,
  ) {}

  get size(): number {
    return this.held.size;
  }

  get(session: string): Held | undefined {
    return this.held.get(session);
  }

  /** Takes one session's cache out of the map without writing it (delete: its pages go too); the caller frees it. */
  take(session: string): Held | undefined {
    const h = this.held.get(session);
    this.held.delete(session);
    return h;
  }

  /** Takes every cache out of the map without writing anything (an eviction's loss, for tests); the caller frees them. */
  takeAll(): Held[] {
    const all = [...this.held.values()];
    this.held.clear();
    return all;
  }

  /** The session's cache in memory: restored from pages when stored (nothing recomputed), else new. */
  hold(engine: ShardEngine, session: string, nCtx: number | null): Held {
    const have = this.held.get(session);
    if (have && (nCtx === null || have.nCtx >= nCtx)) {
      have.lastUsed = ++this.clock;
      return have;
    }
    if (have) {
      // Held with a smaller cache (opened by a trim or fork): store it and reopen at the session's context.
      if (have.durable) this.persist(engine, session, have);
      this.held.delete(session);
      engine.releaseSeq(have.seq);
    }
    const stored = this.store.seq(session);
    const ctxLen = nCtx ?? Math.max(stored?.evaluated ?? 0, 1);
    this.makeRoom(engine, ctxLen);
    const seq = engine.createSeq(ctxLen);
    const perPage = stored?.perPage ?? Math.max(1, Math.floor(shardPageBytes(this.env) / (engine.floatsPerPosition() * 4)));
    if (stored && stored.evaluated > 0) {
      const pages = this.store.pages(session, Math.ceil(stored.evaluated / perPage));
      engine.backend.writeKv(seq.cache, 0, stored.evaluated, joinShardPages(pages, engine, stored.evaluated));
      seq.evaluated = stored.evaluated;
      this.restored += stored.evaluated;
    }
    const held: Held = { seq, nCtx: ctxLen, perPage, persisted: seq.evaluated, lastUsed: ++this.clock, durable: true };
    this.held.set(session, held);
    return held;
  }

  /** Takes a cache out of memory; a session's positions not in its pages yet are written first (dropping is not a crash). */
  evict(engine: ShardEngine, session: string, h: Held): void {
    if (h.durable && h.persisted < h.seq.evaluated) this.persist(engine, session, h);
    this.held.delete(session);
    engine.releaseSeq(h.seq);
  }

  /**
   * Stores the first `upTo` positions (default: all held): writes the pages that changed since the last write, and the
   * session's length, in one transaction; stored pages past it go.
   */
  persist(engine: ShardEngine, session: string, h: Held, upTo = h.seq.evaluated): void {
    const n = Math.min(upTo, h.seq.evaluated);
    const first = Math.floor(Math.min(h.persisted, n) / h.perPage);
    const pages = new Map<number, Uint8Array>();
    for (let p = first; p * h.perPage < n; p++) pages.set(p, readShardPage(engine, h.seq, p, h.perPage, n));
    this.store.save(session, { evaluated: n, perPage: h.perPage }, pages);
    h.persisted = n;
    this.saves++;
    this.pagesWritten += pages.size;
  }

  /**
   * Drops least recently used caches until a new one of nCtx positions fits the budget (a session's is written first:
   * it may be mid-request).
   */
  private makeRoom(engine: ShardEngine, nCtx: number): void {
    const budget = budgetBytes(this.env);
    const need = engine.floatsPerPosition() * 4 * nCtx;
    const used = () => {
      const m = engine.backend.memory();
      return m.weightsBytes + m.kvBytes + m.scratchBytes;
    };
    const lru = [...this.held].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    while (used() + need > budget && lru.length > 0) {
      const [key, h] = lru.shift()!;
      this.evict(engine, key, h);
    }
    if (used() + need > budget) {
      throw new HostError(`shard ${engine.weights.part.layers.join("..")}: a KV cache of ${nCtx} positions does not fit beside its weights in the memory budget (MEMORY_BUDGET_MB)`, "memory_budget_exceeded");
    }
  }
}
