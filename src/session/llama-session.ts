// LlamaSession: one Durable Object per session; token log, sampler and KV pages in SQLite, one generation at a time.
import { DurableObject } from "cloudflare:workers";
import type { FinishReason } from "../engine/generate";
import { positionsPerPage } from "../engine/kv-pages";
import type { LlamaModel } from "../engine/model";
import { Sampler } from "../engine/sampler";
import { defaultNCtx, kvCacheType, modelName, type Env } from "../env";
import { errorBody, sessionBusy, sessionExists, sessionNotFound } from "../protocol/errors";
import type { GenerateRequest, GenerateStart } from "../protocol/generate";
import { fail, ok, type Result } from "../protocol/result";
import type { CreateSessionInput, SessionInfo, SessionSettings, SessionSnapshot } from "../protocol/session";
import type { SessionRpc } from "../protocol/session-rpc";
import { admission } from "./admission";
import { host, type ContextOwner } from "./model-host";
import { describeSession, layoutOf, newSettings, pageBytes } from "./describe";
import { SessionStore, type StoredState } from "./store";
import { restoreLive, type Live } from "./live-state";
import { commitLive } from "./commit";
import { startGeneration } from "./generation";
import { closeShards, dropShards, modelFor, releaseShards, settleShards, shardContext, withShardStorage } from "../shard/session-shards";
import { reportStorage } from "../cache/session-prefix";
import { copySession } from "./fork";
import { truncateLive } from "./truncate";

/** Test hook (`instance[EVICT]()` in runInDurableObject): a symbol key, so RPC, which calls methods by name, cannot reach it. */
export const EVICT: unique symbol = Symbol("LlamaSession.evict");

/** RPC reaches SessionRpc only: helpers are #private (TypeScript's `private` is still callable over RPC). */
export class LlamaSession extends DurableObject<Env> implements SessionRpc {
  private readonly store = new SessionStore(this.ctx.storage);
  private live: Live | null = null;
  /** The generation (or fork) in progress; its abort controller stops it after the current token. */
  private running: AbortController | null = null;
  /** Bumped by destroy(): a generation started before must not write anything afterwards. */
  private epoch = 0;
  /** Free the context when the running generation ends (the session was deleted, or a step failed). */
  private releaseAfterRun = false;
  /** The run holding one of the isolate's generation slots (admission.ts); finishRun gives it back. */
  private admitted: AbortController | null = null;

  /** What the model host may ask of this object: whether it is idle, and to forget its context (it is persisted). */
  readonly #owner: ContextOwner = {
    idle: () => this.running === null,
    dropContext: () => void (this.live = null),
  };

  /** Drops the in-memory state as an eviction would; the next request restores from SQLite. False while generating. */
  [EVICT](): boolean {
    if (this.running) return false;
    host.release(this.#owner);
    this.live = null;
    return true;
  }

  async create(input: CreateSessionInput): Promise<Result<SessionInfo>> {
    if (this.store.exists()) return fail(sessionExists("this session already exists"));
    return this.#guard(async () => {
      const model = await this.#model();
      const settings = this.#settingsFor(model, input);
      if (!settings.ok) return settings;
      const sampler = new Sampler(settings.value.sampler);
      const perPage = positionsPerPage(layoutOf(model, settings.value.nCtx, settings.value.kvType), pageBytes(this.env));
      const state: StoredState = { createdAt: Date.now(), settings: settings.value, samplerState: JSON.stringify(sampler.state()), tokens: [], evaluated: 0, perPage, lastFinish: null };
      this.store.save(state, new Map());
      return ok(this.#describe(model, state));
    });
  }

  async info(): Promise<Result<SessionInfo>> {
    const state = this.store.load();
    if (!state) return fail(sessionNotFound());
    return this.#guard(async () => ok(await withShardStorage(this.env, this.ctx.id.toString(), this.#describe(await this.#model(), state))));
  }

  /**
   * Appends the request's text and starts decoding. Refusals (busy, unknown session, bad settings, prompt over the
   * context) come back before any event, so the API can answer with the right status; the events stream token by
   * token, pulled by the reader, and cancelling the stream (a client disconnect) stops the generation.
   */
  async generate(req: GenerateRequest): Promise<Result<GenerateStart>> {
    if (this.running) return fail(sessionBusy());
    const slot = admission.acquire(this.env);
    if (!slot.ok) return slot;
    const abort = new AbortController();
    this.running = abort; // taken before the first await: a concurrent request sees it
    this.admitted = abort;
    let started = false;
    try {
      const result = await this.#guard(() => this.#start(req, abort));
      started = result.ok;
      return result;
    } finally {
      if (!started) this.#finishRun(abort);
    }
  }

  async #start(req: GenerateRequest, abort: AbortController): Promise<Result<GenerateStart>> {
    let live: Live;
    // Whether the request makes its context (its shard counters then start with it): a throwaway's, or a restore's.
    const prior = this.live?.llm;
    if (req.ephemeral) {
      if (this.store.exists()) return fail(sessionExists("an ephemeral generation needs an unused object"));
      const model = await this.#model();
      const settings = this.#settingsFor(model, { nCtx: req.nCtx, sampler: req.sampler });
      if (!settings.ok) return settings;
      const llm = shardContext(model, this.ctx.id.toString(), settings.value.nCtx, true) ?? host.createContext(this.env, model, this.#owner, settings.value.nCtx, settings.value.kvType);
      const state: StoredState = { createdAt: Date.now(), settings: settings.value, samplerState: JSON.stringify(new Sampler(settings.value.sampler).state()), tokens: [], evaluated: 0, perPage: 1, lastFinish: null };
      live = this.live = { model, llm, sampler: new Sampler(settings.value.sampler), state, persistedEvaluated: 0, ephemeral: true };
    } else {
      const restored = await this.#ensureLive();
      if (!restored.ok) return restored;
      live = restored.value;
    }
    const fresh = live.llm !== prior;
    const epoch = this.epoch;
    return startGeneration(live, req, abort, {
      env: this.env,
      current: () => epoch === this.epoch,
      persist: (finish) => this.#persist(live, finish),
      report: () => this.#report(live.model),
      dropAfterRun: () => void (this.releaseAfterRun = true),
      finish: () => this.#finishRun(abort),
    }, fresh);
  }

  #finishRun(abort: AbortController): void {
    if (this.running !== abort) return;
    this.running = null;
    if (this.admitted === abort) {
      this.admitted = null;
      admission.release();
    }
    if (this.live?.ephemeral || this.releaseAfterRun) {
      this.releaseAfterRun = false;
      if (this.live?.ephemeral) this.ctx.waitUntil(releaseShards(this.live.llm)); // a throwaway's KV leaves its shards, off the response's path
      host.release(this.#owner);
      this.live = null;
    }
  }

  /** Tells the model's cache object this session's stored bytes (the storage gauge of /metrics), in the background. */
  #report(model: LlamaModel | null): void {
    const s = this.store.sizes();
    this.ctx.waitUntil(reportStorage(this.env, model, this.ctx.id.toString(), s.kvBytes, s.stateBytes));
  }

  /** Writes the token log, sampler and new or changed KV pages in one transaction (a sharded model's shards flush first: commit.ts). */
  #persist(live: Live, finish: FinishReason | null): void | Promise<void> {
    if (live.ephemeral || this.live !== live) return;
    return commitLive(this.store, live, finish, () => this.live === live);
  }

  /** Truncates the session to n tokens; pages past the end are deleted and the last partial page rewritten. */
  async rewind(n: number): Promise<Result<SessionInfo>> {
    if (this.running) return fail(sessionBusy());
    if (!this.store.exists()) return fail(sessionNotFound());
    const lock = new AbortController();
    this.running = lock; // no generation may start while the context may still be restoring
    let result: Result<Live>;
    try {
      result = await this.#guard(() => this.#truncate(n));
    } finally {
      this.#finishRun(lock);
    }
    return result.ok ? ok(this.#describe(result.value.model, result.value.state)) : result;
  }

  async #truncate(n: number): Promise<Result<Live>> {
    const restored = await this.#ensureLive();
    if (!restored.ok) return restored;
    const cut = truncateLive(restored.value, n);
    if (!cut.ok) return cut;
    const live = cut.value;
    try {
      await this.#persist(live, null);
    } catch (e) {
      // The write rolled back but the context is already truncated: drop it, the next request restores the stored state.
      this.releaseAfterRun = true;
      throw e;
    }
    await settleShards(live.llm); // the shards of a sharded model hold no position past n either
    this.#report(live.model);
    return ok(live);
  }

  /** Copies this session into the (new, empty) session `targetId`: pages one RPC each, then the state row. */
  async forkTo(targetId: string): Promise<Result<SessionInfo>> {
    if (this.running) return fail(sessionBusy());
    const state = this.store.load();
    if (!state) return fail(sessionNotFound());
    const lock = new AbortController();
    this.running = lock; // no generation may change the pages while they are copied
    try {
      return await this.#guard(() => copySession(this.env, this.ctx.id.toString(), this.store, state, targetId));
    } finally {
      this.#finishRun(lock);
    }
  }

  async importPage(index: number, data: Uint8Array): Promise<void> {
    if (this.store.exists()) throw new Error("cannot import pages into an existing session");
    this.store.putPage(index, data);
  }

  async importState(s: SessionSnapshot): Promise<Result<SessionInfo>> {
    if (this.store.exists()) return fail(sessionExists("the fork target already exists"));
    return this.#guard(async () => {
      const state: StoredState = { createdAt: Date.now(), settings: s.settings, samplerState: s.samplerState, tokens: s.tokens, evaluated: s.evaluated, perPage: s.perPage, lastFinish: null };
      this.store.save(state, new Map());
      this.#report(null);
      return ok(this.#describe(await this.#model(), state));
    });
  }

  /** Deletes everything the session stores; a generation in progress is stopped and writes nothing more. */
  async destroy(): Promise<Result<{ deleted: true }>> {
    if (!this.store.exists()) return fail(sessionNotFound());
    this.epoch++;
    if (this.live) closeShards(this.live.llm); // a running generation sends no step after the shards are told to drop
    // Detached first: a running generation or rewind can no longer persist anything (persist checks this.live).
    this.live = null;
    if (this.running) {
      // The context is freed when the generation notices the abort: freeing it now would pull it from under it.
      this.running.abort();
      this.releaseAfterRun = true;
    } else {
      host.release(this.#owner);
    }
    await dropShards(this.env, this.ctx.id.toString());
    await this.store.deleteAll();
    this.#report(null);
    return ok({ deleted: true });
  }

  /** The live session, restored from SQLite when needed: KV pages are written back into a new cache, nothing is recomputed. */
  async #ensureLive(): Promise<Result<Live>> {
    if (this.live) {
      host.touch(this.#owner);
      return ok(this.live);
    }
    const state = this.store.load();
    if (!state) return fail(sessionNotFound()); // before loading any weights
    const model = await this.#model();
    if (this.live) return ok(this.live);
    const llm = shardContext(model, this.ctx.id.toString(), state.settings.nCtx) ?? host.createContext(this.env, model, this.#owner, state.settings.nCtx, state.settings.kvType);
    try {
      this.live = restoreLive(this.store, state, model, llm);
    } catch (e) {
      host.release(this.#owner);
      throw e;
    }
    return ok(this.live);
  }

  /** The model: this isolate's, or the header-only one of a sharded deployment (its weights live in ModelShard objects). */
  #model(): Promise<LlamaModel> {
    return modelFor(this.env, () => host.model(this.env));
  }

  #settingsFor(model: LlamaModel, input: CreateSessionInput): Result<SessionSettings> {
    return newSettings(model, input, defaultNCtx(this.env, model.config.nCtxTrain), kvCacheType(this.env, modelName(this.env)));
  }

  #describe(model: LlamaModel, state: StoredState): SessionInfo {
    return describeSession(model, state, this.store.sizes(), this.running !== null);
  }

  /** Runs an RPC body and turns what it throws into an error result (RPC would drop the error's details). */
  async #guard<T>(fn: () => Promise<Result<T>>): Promise<Result<T>> {
    try {
      return await fn();
    } catch (e) {
      return fail(errorBody(e));
    }
  }
}
