// GET /v1/model: the served model's configuration, the backend that runs it and the memory it takes (for the playground and ops).
import { Hono } from "hono";
import { defaultNCtx } from "../session/describe";
import type { Env } from "../session/env";
import { budgetBytes, host } from "../session/model-host";

export const modelInfo = new Hono<{ Bindings: Env }>();

/**
 * Asks the isolate's model host, the same one the session objects use: in one isolate the weights are loaded once
 * and shared, so this reports the backend that actually runs generations ("wasm" resolves to the build the runtime
 * validates, e.g. "wasm-relaxed").
 */
modelInfo.get("/model", async (c) => {
  const model = await host.model(c.env);
  const cfg = model.config;
  const mem = model.backend.memory();
  return c.json({
    object: "model.info",
    id: c.env.MODEL_NAME,
    name: cfg.name,
    architecture: cfg.architecture,
    backend: model.backend.name,
    backend_setting: c.env.BACKEND || "wasm",
    file_bytes: model.fileBytes,
    chat_template: host.chatTemplate(model) !== undefined,
    default_n_ctx: defaultNCtx(c.env, model),
    config: {
      dim: cfg.dim,
      n_layers: cfg.nLayers,
      n_heads: cfg.nHeads,
      n_kv_heads: cfg.nKvHeads,
      head_dim: cfg.headDim,
      ffn_dim: cfg.ffnDim,
      vocab_size: cfg.vocabSize,
      n_ctx_train: cfg.nCtxTrain,
      rope_freq_base: cfg.ropeFreqBase,
      rope_freq_scale: cfg.ropeFreqScale,
      rms_eps: cfg.rmsEps,
      tied_output: cfg.tiedOutput,
    },
    memory: {
      budget_bytes: budgetBytes(c.env),
      used_bytes: host.usedBytes(model),
      weights_bytes: mem.weightsBytes,
      kv_bytes: mem.kvBytes,
      scratch_bytes: mem.scratchBytes,
    },
  });
});
