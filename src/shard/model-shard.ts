// ModelShard: one Durable Object per shard (and replica) of a plan; loads only its tensors and keeps each session's KV for its layers.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { errorBody } from "../protocol/errors";
import { fail, ok, type Result } from "../protocol/result";
import type { ShardForward, ShardOutputWire, ShardResult, ShardRpc, ShardStats } from "../protocol/shard-rpc";
import type { ShardSpec } from "./plan";
import { ShardCaches } from "./shard-caches";
import { shardBehind, type ShardEngine } from "./shard-engine";
import { loadShardEngine } from "./shard-load";
import { ShardStore } from "./shard-store";

/**
 * Test hook (`instance[SHARD_EVICT]()` in runInDurableObject): drops every in-memory cache, as an eviction would;
 * with `{ weights: true }` its part of the model too, as a new instance has none (its next call loads it again).
 */
export const SHARD_EVICT: unique symbol = Symbol("ModelShard.evict");
/**
 * Test hook (`instance[SHARD_LOSE](session)`): from now on this object drops that session's cache after every step
 * without writing it, as a shard evicted again and again would (null stops it).
 */
export const SHARD_LOSE: unique symbol = Symbol("ModelShard.lose");

export class ModelShard extends DurableObject<Env> implements ShardRpc {
  private readonly store = new ShardStore(this.ctx.storage);
  private engine: Promise<ShardEngine> | null = null;
  private readonly caches = new ShardCaches(this.store, this.env);
  private steps = 0;
  private computeMs = 0;
  private persistMs = 0;
  private handlerMs = 0;
  private losing: string | null = null;

  [SHARD_EVICT](o: { weights?: boolean } = {}): void {
    for (const h of this.caches.takeAll()) void this.engine?.then((e) => e.releaseSeq(h.seq));
    if (o.weights) this.engine = null;
  }

  [SHARD_LOSE](session: string | null): void {
    this.losing = session;
  }

  async forward(req: ShardForward): Promise<ShardResult<ShardOutputWire>> {
    return this.#withEngine(req.spec, async (engine) => {
      const tIn = performance.now();
      const held = engine.nLayers > 0 ? this.caches.hold(engine, req.session, req.nCtx) : null;
      const x = req.x ? new Float32Array(req.x) : undefined;
      const t0 = performance.now();
      if (held) {
        held.durable = req.persist;
        // Never compute on a hole: positions before pos0 that this shard lost since its last flush cannot be recomputed exactly.
        if (req.pos0 > held.seq.evaluated) throw shardBehind(held.seq.evaluated, req.pos0);
        // Stored positions this step overwrites go from the pages first (rare: a rewind or restore trims before), so a
        // restart can never restore them as if they were the new ones.
        if (req.pos0 < held.persisted && held.durable) this.caches.persist(engine, req.session, held, req.pos0);
      }
      const t1 = performance.now();
      // The step writes no page: the KV stays in memory until the session's next commit flushes it (flush below).
      const out = engine.step(held?.seq ?? null, { pos0: req.pos0, tokens: req.tokens, ...(x && { x }), allLogits: req.allLogits, argmax: req.argmax === true, embedBest: req.embedBest === true, skipHead: req.skipHead === true });
      const t2 = performance.now();
      this.steps++;
      this.computeMs += t2 - t1;
      this.persistMs += t1 - t0;
      const answer = ok({ ...(out.x && { x: bytesOf(out.x) }), ...(out.logits && { logits: bytesOf(out.logits) }), ...(out.best && { best: out.best }), ...(out.bestX && { bestX: bytesOf(out.bestX) }), computeMs: t2 - t1, persistMs: t1 - t0 });
      this.handlerMs += performance.now() - tIn;
      if (held && this.losing === req.session) engine.releaseSeq(this.caches.take(req.session)!.seq);
      return answer;
    });
  }

  async flush(spec: ShardSpec, session: string, n: number): Promise<ShardResult<{ stored: number; persistMs: number }>> {
    return this.#withEngine(spec, async (engine) => {
      if (engine.nLayers === 0) return ok({ stored: 0, persistMs: 0 });
      const held = this.caches.get(session);
      // Not in memory: the pages are all there is (nothing is restored just to find that out).
      const holds = held?.seq.evaluated ?? this.store.seq(session)?.evaluated ?? 0;
      if (holds < n) throw shardBehind(holds, n);
      if (!held || held.persisted >= n) return ok({ stored: held ? held.persisted : holds, persistMs: 0 });
      const t0 = performance.now();
      this.caches.persist(engine, session, held, n);
      const ms = performance.now() - t0;
      this.persistMs += ms;
      return ok({ stored: n, persistMs: ms });
    });
  }

  async trim(spec: ShardSpec, session: string, n: number): Promise<ShardResult<{ evaluated: number }>> {
    return this.#withEngine(spec, async (engine) => {
      if (engine.nLayers === 0) return ok({ evaluated: 0 });
      const stored = this.store.seq(session);
      const held = this.caches.get(session);
      if (held) {
        held.seq.evaluated = Math.min(held.seq.evaluated, n);
        held.persisted = Math.floor(Math.min(held.persisted, held.seq.evaluated) / held.perPage) * held.perPage;
        // The kept part of the last page is written back, pages past it go.
        if (stored) this.caches.persist(engine, session, held);
        return ok({ evaluated: held.seq.evaluated });
      }
      if (!stored || stored.evaluated <= n) return ok({ evaluated: stored?.evaluated ?? 0 });
      // Not in memory: restore, cut, persist (the last kept page may be partial).
      const h = this.caches.hold(engine, session, null);
      h.seq.evaluated = n;
      h.persisted = Math.floor(n / h.perPage) * h.perPage;
      this.caches.persist(engine, session, h);
      return ok({ evaluated: n });
    });
  }

  async fork(spec: ShardSpec, source: string, target: string, n: number, targetShard?: string): Promise<Result<{ copied: number }>> {
    return this.#guard(async () => {
      const engine = await this.#engine(spec);
      if (engine.nLayers === 0) return ok({ copied: 0 });
      const from = this.caches.hold(engine, source, null);
      const count = Math.min(n, from.seq.evaluated);
      if (targetShard !== undefined) {
        // Another replica: the positions travel in chunks of at most 16 MiB (RPC messages stay well under their limit).
        const remote = this.env.SHARDS.getByName(targetShard);
        const per = Math.max(1, Math.floor((16 << 20) / (engine.floatsPerPosition() * 4)));
        for (let p = 0; p === 0 || p < count; p += per) {
          const k = Math.min(per, count - p);
          const data = k > 0 ? engine.backend.readKv(from.seq.cache, p, k).slice().buffer : new ArrayBuffer(0);
          const r = await remote.importKv(spec, target, from.nCtx, p, data as ArrayBuffer);
          if (!r.ok) return r;
        }
        return ok({ copied: count });
      }
      const to = this.caches.hold(engine, target, from.nCtx);
      if (count > 0) engine.backend.writeKv(to.seq.cache, 0, count, engine.backend.readKv(from.seq.cache, 0, count));
      to.seq.evaluated = count;
      to.persisted = 0;
      this.caches.persist(engine, target, to);
      return ok({ copied: count });
    });
  }

  async importKv(spec: ShardSpec, session: string, nCtx: number, pos0: number, data: ArrayBuffer): Promise<Result<{ evaluated: number }>> {
    return this.#guard(async () => {
      const engine = await this.#engine(spec);
      const h = this.caches.hold(engine, session, nCtx);
      if (pos0 === 0) {
        h.seq.evaluated = 0;
        h.persisted = 0;
      }
      if (pos0 !== h.seq.evaluated) throw new RangeError(`a fork's positions must arrive in order: got ${pos0}, holding ${h.seq.evaluated}`);
      const floats = new Float32Array(data);
      const k = floats.length / engine.floatsPerPosition();
      if (k > 0) engine.backend.writeKv(h.seq.cache, pos0, k, floats);
      h.seq.evaluated = pos0 + k;
      this.caches.persist(engine, session, h);
      return ok({ evaluated: h.seq.evaluated });
    });
  }

  async drop(session: string): Promise<Result<{ dropped: boolean }>> {
    return this.#guard(async () => {
      const held = this.caches.take(session);
      if (held) (await this.engine)?.releaseSeq(held.seq);
      return ok({ dropped: this.store.drop(session) || held !== undefined });
    });
  }

  async release(session: string): Promise<Result<{ released: boolean }>> {
    return this.#guard(async () => {
      const held = this.caches.get(session);
      if (held) this.caches.evict(await this.engine!, session, held);
      return ok({ released: held !== undefined });
    });
  }

  async stats(session?: string): Promise<ShardStats> {
    const engine = this.engine ? await this.engine.catch(() => null) : null;
    const m = engine?.backend.memory();
    const memory = m ? { weightsBytes: m.weightsBytes, kvBytes: m.kvBytes, scratchBytes: m.scratchBytes, reservedBytes: m.reservedBytes ?? m.weightsBytes + m.kvBytes + m.scratchBytes } : null;
    return {
      forwarded: engine?.forwarded ?? 0,
      restored: this.caches.restored,
      live: this.caches.size,
      ...this.store.sizes(),
      ...(session !== undefined && { session: this.store.usage(session) }),
      steps: this.steps,
      computeMs: this.computeMs,
      persistMs: this.persistMs,
      handlerMs: this.handlerMs,
      saves: this.caches.saves,
      pagesWritten: this.caches.pagesWritten,
      memory,
    };
  }

  async ping(data?: ArrayBuffer): Promise<number> {
    return data?.byteLength ?? 0;
  }

  async relay(rest: readonly string[], data: ArrayBuffer, reply: (data: ArrayBuffer) => Promise<void>): Promise<void> {
    if (rest.length === 0) return reply(data);
    return this.env.SHARDS.getByName(rest[0]!).relay(rest.slice(1), data, reply);
  }

  /**
   * A call that needs this object's part of the model: `fn`'s result, with `loadMs` beside it (answer or refusal) when
   * this call is the one that loaded the part (a new instance's first call: read from R2). A new instance's first step
   * is often refused (shard_behind: it lost the positions since the last flush), so the refusal carries it too.
   */
  async #withEngine<T>(spec: ShardSpec, fn: (engine: ShardEngine) => Promise<Result<T>>): Promise<ShardResult<T>> {
    let loadMs: number | undefined;
    const r = await this.#guard(async () => {
      if (this.engine) return fn(await this.engine);
      const t0 = performance.now();
      const engine = await this.#engine(spec);
      loadMs = performance.now() - t0;
      return fn(engine);
    });
    return loadMs === undefined ? r : { ...r, loadMs };
  }

  /** Loads this object's part of the model once (single flight; a failed load is retried by the next call). */
  #engine(spec: ShardSpec): Promise<ShardEngine> {
    if (this.engine) return this.engine;
    const p = loadShardEngine(this.env, spec);
    this.engine = p;
    p.catch(() => {
      if (this.engine === p) this.engine = null;
    });
    return p;
  }

  async #guard<T>(fn: () => Promise<Result<T>>): Promise<Result<T>> {
    try {
      return await fn();
    } catch (e) {
      return fail(errorBody(e));
    }
  }
}

function bytesOf(a: Float32Array): ArrayBuffer {
  return a.buffer.byteLength === a.byteLength ? (a.buffer as ArrayBuffer) : (a.slice().buffer as ArrayBuffer);
}
