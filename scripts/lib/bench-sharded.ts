// `npm run bench -- --sharded`: one model through real ModelShard objects under `wrangler dev` beside the same file in
// the single-process engine in Node, in one run: prefill/decode tok/s, per-hop overhead, two sessions at once, shard memory.
import { readFileSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { benchPrompt, median, runOnce } from "./bench-core";
import { snapshot, startDevServer, type DevServer } from "./dev-server";
import { getJson, postJson } from "./loadtest-sse";
import { greedyTokens, SHARDED_MODELS, shardedModelFile, type ShardedBenchModel } from "./bench-sharded-model";
import { generateShardScripts } from "./shards-config";
import { addShardCounts, criticalMs, shardTime, stageGroups, type Generation, type ModelInfo, type ShardCounts, type ShardedRow } from "./bench-sharded-row";

/** wrangler's switch for its local observability (default on in wrangler 4.164). */
export const OBSERVABILITY_ENV = "X_LOCAL_OBSERVABILITY";

export const SHARDED_QUICK = ["stories15M-Q8_0"];
export const SHARDED_FULL = ["smollm2-360m-Q4_K_M", "llama-3.2-1b-Q4_K_M"];

export interface ShardedBenchOptions {
  readonly models: readonly string[];
  readonly backend: string;
  readonly prefill: number;
  readonly decode: number;
  readonly runs: number;
  /** Every shard object in the main Worker's one script (one isolate), instead of a Worker script (an isolate) per shard. */
  readonly oneScript?: boolean;
  /** wrangler dev's local observability (a tail of every invocation to a collector): off unless X_LOCAL_OBSERVABILITY=true. */
  readonly observability?: boolean;
  readonly log: (line: string) => void;
}

export async function benchSharded(o: ShardedBenchOptions): Promise<ShardedRow[]> {
  const rows: ShardedRow[] = [];
  for (const id of o.models) {
    const m = SHARDED_MODELS[id];
    if (!m) throw new Error(`unknown sharded bench model "${id}"; known: ${Object.keys(SHARDED_MODELS).join(", ")}`);
    rows.push(await benchOne(m, o));
  }
  return rows;
}

async function benchOne(m: ShardedBenchModel, o: ShardedBenchOptions): Promise<ShardedRow> {
  const file = shardedModelFile(m, o.log);
  const bytes = new Uint8Array(readFileSync(file));
  // The single-process engine in Node on the same file and backend: the figure the pipeline is compared with.
  const single = LlamaModel.load(bytes, createBackend(o.backend));
  const vocab = single.config.vocabSize;
  const prompt = benchPrompt(vocab, o.prefill);
  runOnce(single, prompt, Math.min(4, o.decode));
  // The sharded session's greedy tokens must be the single engine's (the pipeline is exact): checked on every run.
  const expected = await greedyTokens(single, prompt, 1 + o.decode);
  // One Node run right before each sharded run (alternated, as --vs-llama-cpp does): both see the same machine load.
  const local: { prefill: number; decode: number }[] = [];
  const nodeRun = () => {
    local.push(runOnce(single, prompt, o.decode));
    o.log(`${m.id} node ${o.backend}: prefill ${local.at(-1)!.prefill.toFixed(1)}, decode ${local.at(-1)!.decode.toFixed(2)} tok/s`);
  };
  const node = () => ({ prefill_tokens_per_s: median(local.map((r) => r.prefill)), decode_tokens_per_s: median(local.map((r) => r.decode)) });
  const nCtx = o.prefill + o.decode + 8;
  o.log(`${m.id}: starting wrangler dev at MEMORY_BUDGET_MB=${m.budgetMb}`);
  // The committed tree: wrangler dev reloads on any source change, and a long run must not pick up an edit meanwhile.
  const root = snapshot("edge-llama-bench-sharded-", "HEAD");
  const vars = {
    MODEL_NAME: basename(file),
    BACKEND: o.backend,
    MEMORY_BUDGET_MB: String(m.budgetMb),
    N_CTX: String(nCtx),
    // Room in every shard for the two concurrent sessions of the overlap measurement.
    SHARD_SESSIONS: "2",
    REQUEST_BUDGET_MS: "3600000",
  };
  // One Worker script per shard (each its own isolate), generated in the snapshot as `npm run shards:config` does.
  const configs = o.oneScript ? undefined : generateShardScripts(root, file, vars);
  if (configs) o.log(`${m.id}: ${configs.length - 1} shard scripts (${configs.join(", ")})`);
  // wrangler dev's local observability tails every invocation (each shard RPC) to a collector: a dev tool's cost, several
  // times the RPC's own, that production does not have (docs/sharding.md, "Where a hop's time goes"). startDevServer
  // passes this process's environment on.
  process.env[OBSERVABILITY_ENV] = String(o.observability === true);
  const dev = await startDevServer({ root, models: [file], vars, ...(configs && { configs }), startTimeoutMs: 300_000 });
  try {
    return await measureDev(dev, m, o, { node, nodeRun, vocab, nCtx, prompt, expected });
  } catch (e) {
    const lines = dev.logs().split("\n");
    // What workerd said about errors, resets or memory anywhere in the run, then the tail.
    o.log(lines.filter((l) => /error|exceed|memory|reset|evict|crash|uncaught/i.test(l) && !/Environment Variable/.test(l)).slice(-40).join("\n"));
    o.log(lines.slice(-30).join("\n"));
    throw e;
  } finally {
    await dev.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

async function measureDev(
  dev: DevServer,
  m: ShardedBenchModel,
  o: ShardedBenchOptions,
  s: { node: () => ShardedRow["node"]; nodeRun: () => void; vocab: number; nCtx: number; prompt: number[]; expected: number[] },
): Promise<ShardedRow> {
  const info = () => getJson<ModelInfo>(`${dev.url}/v1/model?shard_stats=1`);
  const create = () => postJson<{ id: string }>(`${dev.url}/v1/sessions`, { temperature: 0, n_ctx: s.nCtx }, 201);
  const gen = (id: string, body: Record<string, unknown>) => postJson<Generation>(`${dev.url}/v1/sessions/${id}/generate`, body);
  const plan = (await info()).sharding.plan;
  const groups = stageGroups(plan, s.vocab);
  const stages = groups.length;
  o.log(`${m.id}: ${plan.length} shards, ${stages} stages per step; loading every shard`);
  // Warm-up: every shard loads its part (R2 range reads) and runs a step.
  const warm = await create();
  await gen(warm.id, { tokens: s.prompt, max_tokens: 1 });
  await gen(warm.id, { max_tokens: Math.min(4, o.decode) });
  // Catch-ups and shard loads of every measured request: a healthy run has none after the warm-up.
  const counts: ShardCounts = { catch_ups: 0, replayed_tokens: 0, loads: 0, load_ms: 0 };
  const results: { prefill: number; decode: number; msPerToken: number; compute: number; persist: number; all: number; calls: number; stages: number; handler: number; wall: number; reset: boolean }[] = [];
  for (let i = 0; i < o.runs; i++) {
    s.nodeRun();
    await reconnect(dev.url);
    const { id } = await create();
    const p = await gen(id, { tokens: s.prompt, max_tokens: 1 });
    const before = shardTime((await info()).sharding.plan);
    const t0 = performance.now();
    const d = await gen(id, { max_tokens: o.decode });
    const wall = performance.now() - t0;
    const after = shardTime((await info()).sharding.plan);
    addShardCounts(counts, p, d);
    const got = [...p.tokens, ...d.tokens];
    if (got.join() !== s.expected.join()) throw new Error(`${m.id} run ${i + 1}: the sharded tokens ${got.join(",")} are not the single engine's ${s.expected.join(",")}`);
    // The first step of a continuation evaluates the pending token (timed as its prefill); decode_ms covers the rest.
    const n = Math.max(1, d.tokens.length - 1);
    // The shards' counters cover every step of the request, the first included: per step, like decode_ms / n.
    const steps = Math.max(1, d.tokens.length);
    const sum = (a: readonly number[], b: readonly number[]) => a.reduce((t, v, k) => t + v - b[k]!, 0);
    results.push({
      prefill: (o.prefill * 1000) / p.timings.prefill_ms,
      decode: (n * 1000) / d.timings.decode_ms,
      msPerToken: d.timings.decode_ms / n,
      compute: criticalMs(groups, before.compute, after.compute) / steps,
      persist: criticalMs(groups, before.persist, after.persist) / steps,
      all: (sum(after.compute, before.compute) + sum(after.persist, before.persist)) / steps,
      calls: sum(after.steps, before.steps) / steps,
      handler: sum(after.handler, before.handler) / steps,
      stages: groups.filter((g) => g.some((k) => after.steps[k]! > before.steps[k]!)).length,
      wall: (d.tokens.length * 1000) / wall,
      // A layer shard serves every token (a row slice only the tokens in its rows): fewer steps, or counters that
      // went back, mean the object's isolate restarted during the run.
      reset: after.steps.some((n, k) => n < before.steps[k]! || (plan[k]!.layers[1] > plan[k]!.layers[0] && n - before.steps[k]! < d.tokens.length)),
    });
    o.log(`${m.id} run ${i + 1}: prefill ${results.at(-1)!.prefill.toFixed(1)}, decode ${results.at(-1)!.decode.toFixed(2)} tok/s (${n} tokens)`);
  }
  // Two sessions at once on the same shards: while one waits on shard k, shard k-1 can serve the other.
  const pair = await Promise.all([create(), create()]);
  for (const p of pair) addShardCounts(counts, await gen(p.id, { tokens: s.prompt, max_tokens: 1 }));
  const t0 = performance.now();
  const both = await Promise.all(pair.map((p) => gen(p.id, { max_tokens: o.decode })));
  addShardCounts(counts, ...both);
  const two = (both.reduce((k, g) => k + g.tokens.length, 0) * 1000) / (performance.now() - t0);
  const last = (await info()).sharding;
  const isolates = new Set(last.plan.flatMap((e) => e.replicas.map((r) => r.isolate)));
  const med = (f: (r: (typeof results)[number]) => number) => median(results.map(f));
  const msPerToken = med((r) => r.msPerToken);
  const resets = results.filter((r) => r.reset).length;
  const compute = resets ? null : med((r) => r.compute);
  const persist = resets ? null : med((r) => r.persist);
  const all = resets ? null : med((r) => r.all);
  const calls = med((r) => r.calls);
  const handler = resets ? null : med((r) => r.handler);
  const decodeStages = med((r) => r.stages);
  const row: ShardedRow = {
    model: `${m.shape} (synth, ${m.mix ? `${m.mix.toUpperCase()} mix` : m.type!.toUpperCase()})`,
    backend: o.backend,
    file_bytes: (await info()).file_bytes,
    budget_bytes: last.budget_bytes,
    shards: last.shards,
    shard_scripts: o.oneScript ? 1 : last.shards,
    isolates: isolates.has(undefined) ? null : isolates.size,
    stages,
    decode_stages: decodeStages,
    max_shard_plan_bytes: Math.max(...last.plan.map((e) => e.total_bytes)),
    shard_memory: last.plan.flatMap((e) => e.replicas.filter((r) => r.memory).map((r) => ({ index: e.index, ...r.memory! }))),
    node: s.node(),
    sharded: { prefill_tokens_per_s: med((r) => r.prefill), decode_tokens_per_s: med((r) => r.decode) },
    decode_ms_per_token: msPerToken,
    shard_compute_ms_per_token: compute,
    shard_persist_ms_per_token: persist,
    hop_overhead_ms: compute === null || persist === null ? null : (msPerToken - compute - persist) / decodeStages,
    shard_all_ms_per_token: all,
    calls_per_token: calls,
    call_overhead_ms: all === null ? null : (msPerToken - all) / calls,
    shard_handler_ms_per_token: handler,
    shard_resets: resets,
    shard_counts: counts,
    local_observability: o.observability === true,
    one_session_decode_tokens_per_s: med((r) => r.wall),
    two_sessions_decode_tokens_per_s: two,
    prefill_tokens: o.prefill,
    decode_tokens: o.decode,
    runs: o.runs,
  };
  o.log(`${m.id} sharded: decode ${row.sharded.decode_tokens_per_s.toFixed(2)} tok/s (${(row.sharded.decode_tokens_per_s / row.node.decode_tokens_per_s).toFixed(2)}× node), hop ${row.hop_overhead_ms?.toFixed(2) ?? `unknown (${resets} run(s) with a shard reset)`} ms, per call outside every shard ${row.call_overhead_ms?.toFixed(2) ?? "?"} ms (${calls.toFixed(1)} calls per token; of it in the objects around the step ${all === null || handler === null ? "?" : ((handler - all) / calls).toFixed(2)} ms, RPC and session ${handler === null ? "?" : ((msPerToken - handler) / calls).toFixed(2)} ms), two sessions ${two.toFixed(2)} tok/s; ${counts.catch_ups} catch-up(s) (${counts.replayed_tokens} positions again), ${counts.loads} shard load(s) (${(counts.load_ms / 1000).toFixed(1)} s)`);
  return row;
}

/**
 * After a synchronous Node run the event loop missed the server closing its idle keep-alive connections (under load a
 * run takes a minute): fetch would send the next request on a dead socket and fail. A GET (safe to repeat) meets the
 * dead sockets first and leaves a live one.
 */
async function reconnect(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await getJson(`${url}/health`);
      return;
    } catch (e) {
      if (i >= 3) throw e;
    }
  }
}
