// Every shard of a plan in this process (tests and benchmarks): the same ShardEngine steps the ModelShard objects run, without RPC.
import type { Backend } from "../backends/backend";
import type { LlamaConfig } from "../engine/config";
import { loadPart } from "../engine/weights";
import type { GgufFile } from "../gguf/index";
import type { ShardPlan, ShardSpec } from "./plan";
import type { ShardCaller } from "./pipeline";
import type { ShardHousekeeping } from "./pipeline-context";
import { shardBehind, ShardEngine, type ShardSeq } from "./shard-engine";

export interface InProcessShards {
  readonly engines: readonly ShardEngine[];
  /** One session's caller and housekeeping (a session key per sequence, as the objects keep them). */
  session(key: string, nCtx: number): { call: ShardCaller; shards: ShardHousekeeping };
  /** Positions run through layers, summed over shards. */
  forwarded(): number;
}

/** Loads each shard's part with its own backend (as each object has its own isolate). */
export function inProcessShards(file: GgufFile, config: LlamaConfig, plan: ShardPlan, backend: () => Backend, maxBatch = 32): InProcessShards {
  const engines = plan.shards.map((s) => {
    const b = backend();
    return new ShardEngine(b, config, loadPart(file, config, b, partOf(s)), maxBatch);
  });
  const seqs = new Map<string, ShardSeq>();
  const seqOf = (engine: ShardEngine, s: ShardSpec, key: string, nCtx: number) => {
    if (engine.nLayers === 0) return null;
    const k = `${s.index}|${key}`;
    let seq = seqs.get(k);
    if (!seq) seqs.set(k, (seq = engine.createSeq(nCtx)));
    return seq;
  };
  return {
    engines,
    session: (key, nCtx) => ({
      call: async (s, input) => engines[s.index]!.step(seqOf(engines[s.index]!, s, key, nCtx), input),
      shards: {
        trim: async (n) => {
          for (const s of plan.shards) {
            const seq = seqs.get(`${s.index}|${key}`);
            if (seq) seq.evaluated = Math.min(seq.evaluated, n);
          }
        },
        release: async () => {
          for (const s of plan.shards) {
            const seq = seqs.get(`${s.index}|${key}`);
            if (seq) engines[s.index]!.releaseSeq(seq);
            seqs.delete(`${s.index}|${key}`);
          }
        },
        // In process the caches are the storage; a shard holding fewer positions than a commit needs is still an error.
        flush: async (n) => {
          for (const s of plan.shards) {
            const seq = seqs.get(`${s.index}|${key}`);
            if (seq && seq.evaluated < n) throw shardBehind(seq.evaluated, n);
          }
        },
      },
    }),
    forwarded: () => engines.reduce((sum, e) => sum + e.forwarded, 0),
  };
}

/** The weights part a spec names. */
export function partOf(s: ShardSpec) {
  return { embedRows: s.embedRows, layers: s.layers, headRows: s.headRows };
}
