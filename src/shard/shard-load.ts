// Loading a shard object's part of the model from R2: the header, then only its tensors and rows, by range reads.
import { createBackendAsync } from "../backends/select";
import { configFromGguf } from "../engine/config";
import { loadPartStreaming } from "../engine/weights";
import { backendSetting, modelName, type Env } from "../env";
import { loadFailure, modelMissing, readHeaderRanged, readRange } from "../protocol/model-file";
import { partOf } from "./in-process";
import type { ShardSpec } from "./plan";
import { ShardEngine } from "./shard-engine";

/** The engine of one plan entry: its own backend and weights (a missing file or a failed load is the session's error too). */
export async function loadShardEngine(env: Env, spec: ShardSpec): Promise<ShardEngine> {
  const name = modelName(env);
  const head = await env.MODELS.head(name);
  if (!head) throw modelMissing(name);
  try {
    const header = await readHeaderRanged(env.MODELS, name, head.size);
    const config = configFromGguf(header);
    const backend = await createBackendAsync(backendSetting(env));
    const weights = await loadPartStreaming(header, config, backend, (o, l) => readRange(env.MODELS, name, o, l), partOf(spec));
    return new ShardEngine(backend, config, weights);
  } catch (e) {
    throw loadFailure(name, e);
  }
}
