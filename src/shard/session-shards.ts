// The session object's side of a sharded model: the plan from the header, a header-only model, and RPC to the shards.
import { configFromGguf, type LlamaConfig } from "../engine/config";
import type { LlamaContext } from "../engine/context";
import { EngineError, ModelError } from "../engine/errors";
import type { LlamaModel } from "../engine/model";
import { defaultNCtx, modelName, budgetBytes, numberVar, type Env } from "../env";
import { HostError, type ErrorBody } from "../protocol/errors";
import { readHeaderRanged } from "../protocol/model-file";
import type { Result } from "../protocol/result";
import type { ShardResult } from "../protocol/shard-rpc";
import type { SessionInfo } from "../protocol/session";
import { createTokenizer } from "../tokenizer/index";
import { metaOptString } from "../gguf/index";
import { host } from "../session/model-host";
import { newHopStats, type HopStats, type ShardCaller } from "./pipeline";
import { PipelineContext } from "./pipeline-context";
import { newPipelineStats, statsSince, type PipelineStats } from "./pipeline-stats";
import { isSharded, planShards, type ShardPlan, type ShardSpec } from "./plan";
import { checkShardScripts, shardNamespace } from "./shard-scripts";

/** A model served by shards: what the session needs of it (config, tokenizer) and the plan. */
interface Sharding {
  readonly plan: ShardPlan;
  readonly env: Env;
}

const shardings = new WeakMap<LlamaModel, Sharding>();
let cached: { key: string; model: Promise<LlamaModel | null> } | null = null;

/** The plan for MODEL_NAME under this isolate's vars (pure function of the header and the budget). */
export async function shardPlan(env: Env): Promise<{ plan: ShardPlan; config: LlamaConfig; header: Awaited<ReturnType<typeof readHeaderRanged>> } | null> {
  const name = modelName(env);
  const head = await env.MODELS.head(name);
  if (!head) return null;
  const header = await readHeaderRanged(env.MODELS, name, head.size);
  const config = configFromGguf(header);
  const plan = planShards(
    { config, tensors: header.tensors },
    { budgetBytes: budgetBytes(env), nCtx: defaultNCtx(env, config.nCtxTrain), sessionsPerShard: numberVar(env, "SHARD_SESSIONS", 1) },
  );
  return { plan, config, header };
}

/**
 * The header-only model of a sharded deployment, or null when the model fits one isolate (the session then loads it
 * itself, as always). Only the plan's refusal (a layer over budget) is reported from here; any other problem with the
 * file is left to the normal loader, which reports it as it always has.
 */
export function shardedModel(env: Env): Promise<LlamaModel | null> {
  const key = `${modelName(env)}|${env.MEMORY_BUDGET_MB}|${env.N_CTX}|${env.SHARD_SESSIONS}|${env.BACKEND}`;
  if (cached?.key === key) return cached.model;
  const model = load(env);
  cached = { key, model };
  model.catch(() => {
    if (cached?.model === model) cached = null;
  });
  return model;
}

async function load(env: Env): Promise<LlamaModel | null> {
  let found;
  try {
    found = await shardPlan(env);
  } catch (e) {
    if (e instanceof HostError && e.code === "memory_budget_exceeded") throw e;
    return null;
  }
  // A missing file is not remembered: the next call looks again (the bucket may be seeded meanwhile).
  if (!found) cached = null;
  if (!found || !isSharded(found.plan)) return null;
  // Per-shard scripts made for another plan, or a shard without its binding: refused here, before any step.
  checkShardScripts(env, found.plan);
  const tokenizer = createTokenizer(found.header);
  if (tokenizer.vocabSize !== found.config.vocabSize) throw new ModelError(`tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${found.config.vocabSize}`);
  // The session reads config and tokenizer only; the weights live in the shards.
  const model = { config: found.config, tokenizer, fileBytes: found.header.fileSize } as unknown as LlamaModel;
  shardings.set(model, { plan: found.plan, env });
  host.rememberTemplate(model, metaOptString(found.header, "tokenizer.chat_template"));
  return model;
}

/** The session's model: the sharded one when the plan needs several shards, else the isolate's own (`local`). */
export async function modelFor(env: Env, local: () => Promise<LlamaModel>): Promise<LlamaModel> {
  return (await shardedModel(env)) ?? local();
}

/** The replica of a shard serving a session: a stable hash of the session key, so every call of a session lands on one. */
export function replicaOf(session: string, replicas: number): number {
  let h = 2166136261;
  for (let i = 0; i < session.length; i++) h = Math.imul(h ^ session.charCodeAt(i), 16777619);
  return (h >>> 0) % replicas;
}

/** The object name of a shard replica: model, plan shape and budget, so a changed plan gets new objects. */
export function shardName(env: Env, plan: ShardPlan, s: ShardSpec, replica: number): string {
  return `${modelName(env)}#${s.index}/${plan.shards.length}@${plan.budgetBytes}:${s.layers.join("-")}:r${replica}`;
}

function stubFor(env: Env, plan: ShardPlan, s: ShardSpec, session: string) {
  const replicas = Math.floor(numberVar(env, "SHARD_REPLICAS", 1));
  return shardStub(env, plan, s, replicaOf(session, replicas));
}

/** A shard replica's object: in the shard's own script (SHARDS_<index>) when the deployment has them, else in SHARDS. */
export function shardStub(env: Env, plan: ShardPlan, s: ShardSpec, replica: number) {
  return shardNamespace(env, s.index).getByName(shardName(env, plan, s, replica));
}

function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  const e = (r as { error: ErrorBody }).error;
  // A shard that lost positions since its last flush: the step (or commit) fails and the session goes back to its last commit.
  if (e.code === "shard_behind") throw new EngineError(`shard: ${e.message}`, e.code);
  throw new HostError(`shard: ${e.message}`, e.code === "memory_budget_exceeded" || e.code === "model_not_found" || e.code === "shards_not_configured" ? e.code : "model_load_failed");
}

/** A pipeline context for `session` when the model is sharded, else null (the caller makes a local context). */
export function shardContext(model: LlamaModel, session: string, nCtx: number, ephemeral = false): LlamaContext | null {
  const sh = shardings.get(model);
  if (!sh) return null;
  const { env, plan } = sh;
  const hops = newHopStats();
  const stats = newPipelineStats();
  /** A shard's answer, unwrapped; when that call loaded the object's part of the model (a new instance), counted first. */
  const loaded = <T>(r: ShardResult<T>): T => {
    if (r.loadMs !== undefined) {
      stats.shardLoads++;
      stats.shardLoadMs += r.loadMs;
    }
    return unwrap(r);
  };
  // A stub per shard for the context's life (a failed step drops the context, and with it any stub the failure broke).
  const stubs = new Map<number, ReturnType<typeof stubFor>>();
  const stepStub = (s: ShardSpec) => {
    let stub = stubs.get(s.index);
    if (!stub) stubs.set(s.index, (stub = stubFor(env, plan, s, session)));
    return stub;
  };
  const call: ShardCaller = async (s, input) => {
    const x = input.x ? (input.x.byteLength === input.x.buffer.byteLength ? input.x.buffer : input.x.slice().buffer) : undefined;
    const t0 = performance.now();
    const out = loaded(
      await stepStub(s).forward({ spec: s, session, nCtx, pos0: input.pos0, tokens: [...input.tokens], ...(x && { x: x as ArrayBuffer }), allLogits: input.allLogits, ...(input.argmax && { argmax: true }), ...(input.embedBest && { embedBest: true }), ...(input.skipHead && { skipHead: true }), persist: !ephemeral }),
    );
    hops.calls++;
    hops.roundTripMs += performance.now() - t0;
    hops.computeMs += out.computeMs ?? 0;
    hops.persistMs += out.persistMs ?? 0;
    return { ...(out.x && { x: new Float32Array(out.x) }), ...(out.logits && { logits: new Float32Array(out.logits) }), ...(out.best && { best: out.best }), ...(out.bestX && { bestX: new Float32Array(out.bestX) }) };
  };
  const trim = async (n: number) => {
    await Promise.all(layerShards(plan).map(async (s) => loaded(await stubFor(env, plan, s, session).trim(s, session, n))));
  };
  const flush = async (n: number) => {
    await Promise.all(layerShards(plan).map(async (s) => loaded(await stubFor(env, plan, s, session).flush(s, session, n))));
  };
  const release = async () => {
    await Promise.all(layerShards(plan).map(async (s) => unwrap(await stubFor(env, plan, s, session).release(session))));
  };
  const ctx = new PipelineContext(model, nCtx, plan, call, { trim, flush, release }, undefined, stats);
  hopStats.set(ctx, hops);
  return ctx.asContext();
}

const hopStats = new WeakMap<PipelineContext, HopStats>();

/** The hop timings of a pipeline context (null for a local one): round trips seen here against time inside the shards. */
export function hopStatsOf(llm: LlamaContext): HopStats | null {
  return hopStats.get(llm as unknown as PipelineContext) ?? null;
}

function layerShards(plan: ShardPlan): ShardSpec[] {
  return plan.shards.filter((s) => s.layers[1] > s.layers[0]);
}

/** The catch-up and shard-load counters of a pipeline context (null for a local one): cumulative over its life. */
export function pipelineStatsOf(llm: LlamaContext): PipelineStats | null {
  return isPipeline(llm) ? { ...(llm as unknown as PipelineContext).stats } : null;
}

/**
 * A request's share of its pipeline context's counters: read it when the request ends (null for a local context).
 * `fresh`: the context was made for this request, so everything it counted so far (a restore's trims) is the request's.
 */
export function pipelineMeter(llm: LlamaContext, fresh: boolean): (() => PipelineStats) | null {
  const now = pipelineStatsOf(llm);
  if (!now) return null;
  const before = fresh ? newPipelineStats() : now;
  return () => statsSince(pipelineStatsOf(llm)!, before);
}

/** True when the context runs through shards (its KV is in the shards' pages, not the session's). */
export function isPipeline(llm: LlamaContext): boolean {
  return (llm as unknown) instanceof PipelineContext;
}

/** The session is being deleted: its pipeline sends no further step (a step after the shards' drop would store pages again). */
export function closeShards(llm: LlamaContext): void {
  if (isPipeline(llm)) (llm as unknown as PipelineContext).close();
}

/**
 * A throwaway generation ended: its shards drop its KV now (for ctx.waitUntil, off the response's path; a failure is
 * only logged, the least-recently-used rule then drops the cache later). Nothing for a local context.
 */
export async function releaseShards(llm: LlamaContext): Promise<void> {
  if (!isPipeline(llm)) return;
  await (llm as unknown as PipelineContext).release().catch((e: unknown) => console.error("releasing a throwaway generation's shard caches failed", e));
}

/** Waits until the shards hold exactly the context's positions (after a rewind or a restore). */
export async function settleShards(llm: LlamaContext): Promise<void> {
  if (isPipeline(llm)) await (llm as unknown as PipelineContext).settle();
}

/** Fork: every shard copies the source session's first n positions to the target (on the replica each maps to). */
export async function forkShards(env: Env, source: string, target: string, n: number): Promise<boolean> {
  const model = await shardedModel(env);
  const sh = model && shardings.get(model);
  if (!sh) return false;
  const { plan } = sh;
  await Promise.all(
    layerShards(plan).map(async (s) => {
      const replicas = Math.floor(numberVar(env, "SHARD_REPLICAS", 1));
      const [a, b] = [replicaOf(source, replicas), replicaOf(target, replicas)];
      const from = stubFor(env, plan, s, source);
      return unwrap(await (a === b ? from.fork(s, source, target, n) : from.fork(s, source, target, n, shardName(env, plan, s, b))));
    }),
  );
  return true;
}

/** Delete: every shard forgets the session, pages included. */
export async function dropShards(env: Env, session: string): Promise<void> {
  // A deployment whose plan is refused has no shards to clean.
  const model = await shardedModel(env).catch(() => null);
  const sh = model && shardings.get(model);
  if (!sh) return;
  const { plan } = sh;
  await Promise.all(layerShards(plan).map(async (s) => unwrap(await stubFor(env, plan, s, session).drop(session))));
}

/** Storage accounting of a sharded session: the KV pages its shards hold for it replace the session's own (none). */
export async function withShardStorage(env: Env, session: string, info: SessionInfo): Promise<SessionInfo> {
  const model = await shardedModel(env).catch(() => null);
  const sh = model && shardings.get(model);
  if (!sh) return info;
  const { plan } = sh;
  const usage = await Promise.all(layerShards(plan).map(async (s) => (await stubFor(env, plan, s, session).stats(session)).session ?? { pages: 0, bytes: 0 }));
  const kvPages = usage.reduce((n, u) => n + u.pages, 0);
  const kvBytes = usage.reduce((n, u) => n + u.bytes, 0);
  return { ...info, storage: { ...info.storage, kvPages, kvBytes, storedBytes: kvBytes + info.storage.stateBytes } };
}
