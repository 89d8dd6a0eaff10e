// GET /v1/model: the served model's configuration, chat template, end-of-generation tokens, the backend that runs it and its memory needs.
import { Hono } from "hono";
import type { Env } from "../env";
import { errorBody, modelCard } from "../protocol";
import { ApiError } from "./errors";
import { planInfo } from "../shard/plan-info";

export const modelInfo = new Hono<{ Bindings: Env }>();

/**
 * Answered from the GGUF header (R2 range reads, cached per model version), never by loading the model: the Worker's
 * isolate is stateless and must not hold a second copy of the weights beside the session objects'. `backend` is the
 * build a session object resolves "wasm" to on this same runtime; `memory` is arithmetic on the header (what an
 * isolate needs for the weights and one session at default_n_ctx), not a measurement of some object's isolate:
 * asking one object would report only that object's isolate, and would load the model there just to answer.
 */
modelInfo.get("/model", async (c) => {
  const card = await modelCard(c.env).catch((e: unknown) => {
    throw new ApiError(errorBody(e)); // model_not_found 503, model_load_failed 500: as a session object reports them
  });
  const cfg = card.config;
  const mem = card.memory;
  // A model over the budget runs as a pipeline of shards (docs/sharding.md); a plan that cannot work is a 503 here too.
  const sharding = await planInfo(c.env, card, c.req.query("shard_stats") === "1").catch((e: unknown) => {
    throw new ApiError(errorBody(e));
  });
  return c.json({
    object: "model.info",
    id: c.env.MODEL_NAME,
    name: cfg.name,
    architecture: cfg.architecture,
    backend: card.backend,
    backend_setting: card.backendSetting,
    file_bytes: card.fileBytes,
    // The template text itself (null: the plain System:/User:/Assistant: template is used) and the tokens that end
    // a generation, so a client can see how chat prompts are built and where replies stop.
    chat_template: card.chatTemplate ?? null,
    eog_tokens: [...card.tokenizer.eogIds].sort((a, b) => a - b).map((id) => ({ id, piece: card.tokenizer.tokenText(id) })),
    default_n_ctx: card.defaultNCtx,
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
      budget_bytes: mem.budgetBytes,
      used_bytes: mem.usedBytes,
      weights_bytes: mem.weightsBytes,
      kv_bytes: mem.kvBytes,
      scratch_bytes: mem.scratchBytes,
    },
    sharding,
  });
});
